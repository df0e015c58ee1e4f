#!/usr/bin/python3
"""The parts of a desktop session that a bare Xvfb lacks, for the end-to-end test: a
notification server, a status-notifier (tray) host, and a window manager's close button.
Without them the app's notifications, tray menu and close-to-tray would go nowhere and
stay untested.

  desktop-session.py serve LOG       own org.freedesktop.Notifications and
                                     org.kde.StatusNotifierWatcher on the session bus;
                                     append each notification and tray registration to
                                     LOG (JSON lines); on SIGUSR1 give up the watcher
                                     name, as a desktop without a tray host
  desktop-session.py menu LOG        print the registered tray icon's menu labels (JSON)
  desktop-session.py click LOG TEXT  activate the tray menu item labelled TEXT, as a
                                     click would (com.canonical.dbusmenu Event)
  desktop-session.py window TITLE    print "viewable", "hidden" or "none" for the
                                     top-level X window(s) named TITLE
  desktop-session.py close TITLE     ask that window to close (WM_DELETE_WINDOW), as a
                                     window manager's close button does

Uses Debian's /usr/bin/python3 with python3-gi (Gio) and libX11 through ctypes. It only
listens on the private session bus the test runs in, and stops when that bus goes away
or on SIGTERM.
"""

import ctypes
import json
import os
import signal
import sys
import time

from gi.repository import Gio, GLib

NOTIFY_XML = """
<node>
  <interface name="org.freedesktop.Notifications">
    <method name="Notify">
      <arg type="s" direction="in"/><arg type="u" direction="in"/>
      <arg type="s" direction="in"/><arg type="s" direction="in"/>
      <arg type="s" direction="in"/><arg type="as" direction="in"/>
      <arg type="a{sv}" direction="in"/><arg type="i" direction="in"/>
      <arg type="u" direction="out"/>
    </method>
    <method name="CloseNotification"><arg type="u" direction="in"/></method>
    <method name="GetCapabilities"><arg type="as" direction="out"/></method>
    <method name="GetServerInformation">
      <arg type="s" direction="out"/><arg type="s" direction="out"/>
      <arg type="s" direction="out"/><arg type="s" direction="out"/>
    </method>
  </interface>
</node>
"""

WATCHER_XML = """
<node>
  <interface name="org.kde.StatusNotifierWatcher">
    <method name="RegisterStatusNotifierItem"><arg type="s" direction="in"/></method>
    <method name="RegisterStatusNotifierHost"><arg type="s" direction="in"/></method>
    <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
    <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
    <property name="ProtocolVersion" type="i" access="read"/>
    <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
    <signal name="StatusNotifierItemUnregistered"><arg type="s"/></signal>
    <signal name="StatusNotifierHostRegistered"/>
  </interface>
</node>
"""


def serve(log_path):
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    items = []
    next_id = [0]

    def record(entry):
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    def on_notify(conn, sender, path, iface, method, params, invocation):
        if method == "Notify":
            app, _replaces, icon, summary, body, _actions, _hints, _timeout = params.unpack()
            next_id[0] += 1
            record({"kind": "notification", "app": app, "icon": icon, "summary": summary, "body": body})
            invocation.return_value(GLib.Variant("(u)", (next_id[0],)))
        elif method == "GetCapabilities":
            invocation.return_value(GLib.Variant("(as)", (["body"],)))
        elif method == "GetServerInformation":
            invocation.return_value(GLib.Variant("(ssss)", ("ferry-e2e", "ferry", "1", "1.2")))
        else:
            invocation.return_value(None)

    def on_watcher(conn, sender, path, iface, method, params, invocation):
        if method == "RegisterStatusNotifierItem":
            (arg,) = params.unpack()
            # Items register either a bus name or (Ayatana) an object path on their own name.
            service, obj = (sender, arg) if arg.startswith("/") else (arg, "/StatusNotifierItem")
            items.append(f"{service}{obj}")
            record({"kind": "tray", "service": service, "path": obj})
            conn.emit_signal(None, path, iface, "StatusNotifierItemRegistered",
                             GLib.Variant("(s)", (f"{service}{obj}",)))
        invocation.return_value(None)

    def watcher_prop(conn, sender, path, iface, prop):
        return {
            "RegisteredStatusNotifierItems": GLib.Variant("as", items),
            "IsStatusNotifierHostRegistered": GLib.Variant("b", True),
            "ProtocolVersion": GLib.Variant("i", 0),
        }[prop]

    notify_info = Gio.DBusNodeInfo.new_for_xml(NOTIFY_XML).interfaces[0]
    watcher_info = Gio.DBusNodeInfo.new_for_xml(WATCHER_XML).interfaces[0]
    bus.register_object("/org/freedesktop/Notifications", notify_info, on_notify, None, None)
    bus.register_object("/StatusNotifierWatcher", watcher_info, on_watcher, watcher_prop, None)
    for name in ("org.freedesktop.Notifications", "org.kde.StatusNotifierWatcher"):
        reply = bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                              "RequestName", GLib.Variant("(su)", (name, 4)),  # 4: do not queue
                              GLib.VariantType("(u)"), Gio.DBusCallFlags.NONE, 5000, None)
        if reply.unpack()[0] != 1:
            sys.exit(f"desktop-session: {name} is already owned on this bus")
    def no_tray_host():
        bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                      "ReleaseName", GLib.Variant("(s)", ("org.kde.StatusNotifierWatcher",)),
                      GLib.VariantType("(u)"), Gio.DBusCallFlags.NONE, 5000, None)
        record({"kind": "no-tray-host"})
        return GLib.SOURCE_CONTINUE

    record({"kind": "ready"})
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR1, no_tray_host)
    bus.connect("closed", lambda *_: loop.quit())
    loop.run()


def tray_item(log_path):
    trays = []
    with open(log_path, encoding="utf-8") as f:
        for line in f:
            entry = json.loads(line)
            if entry["kind"] == "tray":
                trays.append(entry)
    if not trays:
        sys.exit("desktop-session: no tray icon has registered")
    return trays[-1]


def menu_items(bus, log_path):
    """(id, label) of every item in the tray icon's menu, read over com.canonical.dbusmenu."""
    item = tray_item(log_path)
    menu_path = bus.call_sync(item["service"], item["path"], "org.freedesktop.DBus.Properties", "Get",
                              GLib.Variant("(ss)", ("org.kde.StatusNotifierItem", "Menu")),
                              GLib.VariantType("(v)"), Gio.DBusCallFlags.NONE, 5000, None).unpack()[0]
    layout = bus.call_sync(item["service"], menu_path, "com.canonical.dbusmenu", "GetLayout",
                           GLib.Variant("(iias)", (0, -1, [])), None, Gio.DBusCallFlags.NONE, 5000,
                           None).unpack()[1]
    found = []

    def walk(node):
        node_id, props, children = node
        if "label" in props:
            # GTK menus export mnemonics ("_Open"); a person reads the text without them.
            found.append((node_id, props["label"].replace("_", "")))
        for child in children:
            walk(child)

    walk(layout)
    return item, menu_path, found


class XClientMessageEvent(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", ctypes.c_void_p), ("window", ctypes.c_ulong),
                ("message_type", ctypes.c_ulong), ("format", ctypes.c_int),
                ("l", ctypes.c_long * 5)]


class XEvent(ctypes.Union):
    _fields_ = [("xclient", XClientMessageEvent), ("pad", ctypes.c_long * 24)]


class XWindowAttributes(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("width", ctypes.c_int),
                ("height", ctypes.c_int), ("border_width", ctypes.c_int), ("depth", ctypes.c_int),
                ("visual", ctypes.c_void_p), ("root", ctypes.c_ulong), ("class_", ctypes.c_int),
                ("bit_gravity", ctypes.c_int), ("win_gravity", ctypes.c_int),
                ("backing_store", ctypes.c_int), ("backing_planes", ctypes.c_ulong),
                ("backing_pixel", ctypes.c_ulong), ("save_under", ctypes.c_int),
                ("colormap", ctypes.c_ulong), ("map_installed", ctypes.c_int),
                ("map_state", ctypes.c_int), ("all_event_masks", ctypes.c_long),
                ("your_event_mask", ctypes.c_long), ("do_not_propagate_mask", ctypes.c_long),
                ("override_redirect", ctypes.c_int), ("screen", ctypes.c_void_p)]


def x_windows(title):
    """(libX11, display, [window ids]) of the root's children named TITLE."""
    x = ctypes.cdll.LoadLibrary("libX11.so.6")
    x.XOpenDisplay.restype = ctypes.c_void_p
    x.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x.XDefaultRootWindow.restype = ctypes.c_ulong
    x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    x.XQueryTree.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong),
                             ctypes.POINTER(ctypes.c_ulong),
                             ctypes.POINTER(ctypes.POINTER(ctypes.c_ulong)),
                             ctypes.POINTER(ctypes.c_uint)]
    x.XFetchName.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_char_p)]
    x.XGetWindowAttributes.argtypes = [ctypes.c_void_p, ctypes.c_ulong,
                                       ctypes.POINTER(XWindowAttributes)]
    x.XInternAtom.restype = ctypes.c_ulong
    x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long,
                             ctypes.POINTER(XEvent)]
    x.XFlush.argtypes = [ctypes.c_void_p]
    x.XCloseDisplay.argtypes = [ctypes.c_void_p]
    display = x.XOpenDisplay(os.environ.get("DISPLAY", "").encode())
    if not display:
        sys.exit("desktop-session: cannot open the X display (is DISPLAY set?)")
    root, parent = ctypes.c_ulong(), ctypes.c_ulong()
    children, count = ctypes.POINTER(ctypes.c_ulong)(), ctypes.c_uint()
    x.XQueryTree(display, x.XDefaultRootWindow(display), ctypes.byref(root), ctypes.byref(parent),
                 ctypes.byref(children), ctypes.byref(count))
    found = []
    for i in range(count.value):
        name = ctypes.c_char_p()
        if x.XFetchName(display, children[i], ctypes.byref(name)) and name.value is not None:
            if name.value.decode(errors="replace") == title:
                found.append(children[i])
    return x, display, found


def window_state(title):
    x, display, found = x_windows(title)
    state = "none"
    for w in found:
        attrs = XWindowAttributes()
        x.XGetWindowAttributes(display, w, ctypes.byref(attrs))
        state = "viewable" if attrs.map_state == 2 else ("hidden" if state == "none" else state)
    x.XCloseDisplay(display)
    return state


def close_window(title):
    x, display, found = x_windows(title)
    if not found:
        sys.exit(f"desktop-session: no window named {title!r}")
    for w in found:
        ev = XEvent()
        ev.xclient.type = 33  # ClientMessage
        ev.xclient.window = w
        ev.xclient.message_type = x.XInternAtom(display, b"WM_PROTOCOLS", 0)
        ev.xclient.format = 32
        ev.xclient.l[0] = x.XInternAtom(display, b"WM_DELETE_WINDOW", 0)
        ev.xclient.l[1] = 0  # CurrentTime
        x.XSendEvent(display, w, 0, 0, ctypes.byref(ev))
    x.XFlush(display)
    x.XCloseDisplay(display)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, log_path = sys.argv[1], sys.argv[2]
    if cmd == "window":
        print(window_state(sys.argv[2]))
        return
    if cmd == "close":
        close_window(sys.argv[2])
        return
    if cmd == "serve":
        serve(log_path)
        return
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    item, menu_path, found = menu_items(bus, log_path)
    if cmd == "menu":
        print(json.dumps([label for _, label in found]))
    elif cmd == "click" and len(sys.argv) == 4:
        ids = [i for i, label in found if label == sys.argv[3]]
        if not ids:
            sys.exit(f"desktop-session: no menu item {sys.argv[3]!r} in {[l for _, l in found]}")
        bus.call_sync(item["service"], menu_path, "com.canonical.dbusmenu", "Event",
                      GLib.Variant("(isvu)", (ids[0], "clicked", GLib.Variant("i", 0), int(time.time()))),
                      None, Gio.DBusCallFlags.NONE, 5000, None)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
