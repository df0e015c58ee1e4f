#!/usr/bin/python3
"""The platform's floor for bench/desktop: the smallest WebKitGTK program there is — one
GTK window with one WebKitWebView showing a line of static HTML — so the desktop app's
idle memory can be read against what WebKitGTK itself costs on this machine. No Ferry
code runs here. Stays up for SECONDS (default 20), then quits.

Uses Debian's /usr/bin/python3 with python3-gi and gir1.2-webkit2-4.1 (the same
libwebkit2gtk-4.1 the app links).
"""

import sys

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("WebKit2", "4.1")
from gi.repository import GLib, Gtk, WebKit2  # noqa: E402

window = Gtk.Window(title="floor")
window.set_default_size(1024, 720)
view = WebKit2.WebView()
window.add(view)
view.load_html("<!doctype html><html><body><h1>blank</h1></body></html>", "about:blank")
window.connect("destroy", Gtk.main_quit)
window.show_all()
GLib.timeout_add_seconds(int(sys.argv[1]) if len(sys.argv) > 1 else 20, Gtk.main_quit)
Gtk.main()
