#!/usr/bin/python3
"""Stand-ins for the system-bus services Ferry asks on Linux, for its tests: NetworkManager
(State, Metered), UPower (OnBattery) and logind (Manager.Inhibit). They serve on the bus
whose address is given (a private dbus-daemon the test started), never the machine's.

  system-bus.py ADDRESS STATE LOG

STATE is a JSON file re-read at every property read, so a test changes what the
"machine" says by rewriting it: {"nm_state": 70, "metered": 4, "on_battery": false}.
LOG gets one JSON line per event: {"event": "inhibit", "what": …, "who": …, "why": …,
"mode": …} when an inhibitor is taken, {"event": "released"} when the last copy of its
file descriptor is closed (as logind drops the inhibitor then). "ready" is printed on
stdout once every name is owned.

Uses Debian's /usr/bin/python3 with python3-gi (Gio). Stops when its bus goes away or on
SIGTERM.
"""

import json
import os
import signal
import sys

from gi.repository import Gio, GLib

NM_XML = """
<node>
  <interface name="org.freedesktop.NetworkManager">
    <property name="State" type="u" access="read"/>
    <property name="Metered" type="u" access="read"/>
  </interface>
</node>
"""

UPOWER_XML = """
<node>
  <interface name="org.freedesktop.UPower">
    <property name="OnBattery" type="b" access="read"/>
  </interface>
</node>
"""

LOGIND_XML = """
<node>
  <interface name="org.freedesktop.login1.Manager">
    <method name="Inhibit">
      <arg type="s" direction="in"/><arg type="s" direction="in"/>
      <arg type="s" direction="in"/><arg type="s" direction="in"/>
      <arg type="h" direction="out"/>
    </method>
  </interface>
</node>
"""

DEFAULTS = {"nm_state": 70, "metered": 4, "on_battery": False}


def main():
    address, state_path, log_path = sys.argv[1:4]
    loop = GLib.MainLoop()

    def state():
        try:
            with open(state_path) as f:
                return {**DEFAULTS, **json.load(f)}
        except (OSError, ValueError):
            return dict(DEFAULTS)

    def log(entry):
        with open(log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    conn = Gio.DBusConnection.new_for_address_sync(
        address,
        Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
        | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
        None,
        None,
    )
    conn.connect("closed", lambda *_: loop.quit())

    def nm_get(_c, _s, _p, _i, name):
        s = state()
        if name == "State":
            return GLib.Variant("u", int(s["nm_state"]))
        if name == "Metered":
            return GLib.Variant("u", int(s["metered"]))
        return None

    def upower_get(_c, _s, _p, _i, name):
        if name == "OnBattery":
            return GLib.Variant("b", bool(state()["on_battery"]))
        return None

    watches = []

    def logind_call(_c, _s, _p, _i, method, params, invocation):
        if method != "Inhibit":
            invocation.return_dbus_error("org.freedesktop.DBus.Error.UnknownMethod", method)
            return
        what, who, why, mode = params.unpack()
        r, w = os.pipe()
        fds = Gio.UnixFDList.new()
        fds.append(w)
        os.close(w)
        log({"event": "inhibit", "what": what, "who": who, "why": why, "mode": mode})

        def closed(fd, _cond):
            log({"event": "released"})
            os.close(fd)
            return False

        watches.append(GLib.io_add_watch(r, GLib.IO_HUP | GLib.IO_ERR, closed))
        invocation.return_value_with_unix_fd_list(GLib.Variant("(h)", (0,)), fds)

    for xml, path, get, call in [
        (NM_XML, "/org/freedesktop/NetworkManager", nm_get, None),
        (UPOWER_XML, "/org/freedesktop/UPower", upower_get, None),
        (LOGIND_XML, "/org/freedesktop/login1", None, logind_call),
    ]:
        iface = Gio.DBusNodeInfo.new_for_xml(xml).interfaces[0]
        conn.register_object(path, iface, call, get, None)

    for name in [
        "org.freedesktop.NetworkManager",
        "org.freedesktop.UPower",
        "org.freedesktop.login1",
    ]:
        conn.call_sync(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "RequestName",
            GLib.Variant("(su)", (name, 4)),
            None,
            Gio.DBusCallFlags.NONE,
            -1,
            None,
        )
    print("ready", flush=True)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    loop.run()


if __name__ == "__main__":
    main()
