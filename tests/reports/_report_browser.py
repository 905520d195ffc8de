"""Drive headless Chromium over the DevTools protocol on a pipe (no websocket library).

``--remote-debugging-pipe`` makes Chromium read NUL-separated JSON commands on
fd 3 and write replies and events on fd 4.  ``open_report`` loads a page with a
proxy that goes nowhere, records console errors, exceptions and every network
request, and returns what the page drew plus small screenshots of each figure.
A tiny PNG decoder (zlib + the five scanline filters) checks screenshots for ink.
"""
from __future__ import annotations

import base64
import json
import os
import select
import shutil
import struct
import subprocess
import tempfile
import time
import zlib
from pathlib import Path

__all__ = ["find_chromium", "open_report", "png_pixels"]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


class _Pipe:
    def __init__(self, exe: str, profile: str):
        to_r, self._to_w = os.pipe()
        self._from_r, from_w = os.pipe()

        def child_fds():
            os.dup2(to_r, 3)
            os.dup2(from_w, 4)

        args = [exe, "--headless", "--disable-gpu", "--no-sandbox", "--remote-debugging-pipe",
                "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
                f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-extensions", "--hide-scrollbars", "--window-size=1400,1000", "about:blank"]
        self.proc = subprocess.Popen(args, preexec_fn=child_fds, pass_fds=(3, 4), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(to_r)
        os.close(from_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, *, session: str | None = None,
             timeout_s: float = 30.0) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_w, json.dumps(msg).encode() + b"\0")
        want = self._id
        deadline = time.monotonic() + timeout_s
        while True:
            for m in self._read(deadline):
                if m.get("id") == want:
                    if "error" in m:
                        raise RuntimeError(f"{method}: {m['error']}")
                    return m.get("result", {})
                self.events.append(m)

    def wait_event(self, method: str, timeout_s: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout_s
        while True:
            for i, m in enumerate(self.events):
                if m.get("method") == method:
                    return self.events[i]
            self.events.extend(self._read(deadline))

    def _read(self, deadline: float) -> list[dict]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("chromium did not answer in time")
        ready, _, _ = select.select([self._from_r], [], [], left)
        if not ready:
            raise TimeoutError("chromium did not answer in time")
        chunk = os.read(self._from_r, 1 << 20)
        if not chunk:
            raise RuntimeError("chromium closed the pipe: " + self.proc.stderr.read().decode()[-2000:])
        self._buf += chunk
        *msgs, self._buf = self._buf.split(b"\0")
        return [json.loads(m) for m in msgs if m]

    def close(self):
        try:
            os.write(self._to_w, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_w)
        os.close(self._from_r)


_PROBE = """(() => {
  const out = [];
  for (const div of document.querySelectorAll('.js-plotly-plot')) {
    const r = div.getBoundingClientRect();
    const marks = div.querySelectorAll(
      '.scatterlayer .trace path.js-line, .scatterlayer .trace path.point, .barlayer .trace path');
    let drawn = 0;
    for (const m of marks) { const d = m.getAttribute('d'); if (d && d.length > 4 && d !== 'M0,0Z') drawn++; }
    out.push({id: div.id, x: r.left + window.scrollX, y: r.top + window.scrollY,
              w: r.width, h: r.height, svg: div.querySelectorAll('svg.main-svg').length, drawn});
  }
  return JSON.stringify({figures: out, divs: document.querySelectorAll('.plotly-graph-div').length,
                         height: document.documentElement.scrollHeight});
})()"""


def open_report(path: Path, *, timeout_s: float = 60.0, exe: str | None = None) -> dict:
    """Load ``path`` in headless Chromium; return console errors, requests, figures, screenshots."""
    exe = exe or find_chromium()
    with tempfile.TemporaryDirectory(prefix="memsim-chromium-") as profile:
        b = _Pipe(exe, profile)
        try:
            target = b.send("Target.createTarget", {"url": "about:blank"}, timeout_s=timeout_s)
            sid = b.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True},
                         timeout_s=timeout_s)["sessionId"]
            for dom in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
                b.send(dom, session=sid, timeout_s=timeout_s)
            b.send("Emulation.setDeviceMetricsOverride",
                   {"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": False}, session=sid)
            b.send("Page.navigate", {"url": Path(path).resolve().as_uri()}, session=sid, timeout_s=timeout_s)
            b.wait_event("Page.loadEventFired", timeout_s=timeout_s)
            deadline = time.monotonic() + timeout_s
            while True:
                probe = json.loads(b.send("Runtime.evaluate", {"expression": _PROBE, "returnByValue": True},
                                          session=sid)["result"]["value"])
                if (probe["figures"] and all(f["svg"] for f in probe["figures"])) or \
                        time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            shots = {}
            for f in probe["figures"]:
                if f["w"] < 1 or f["h"] < 1:
                    continue
                clip = {"x": f["x"], "y": f["y"], "width": f["w"], "height": f["h"], "scale": 0.25}
                data = b.send("Page.captureScreenshot", {"format": "png", "clip": clip,
                                                         "captureBeyondViewport": True},
                              session=sid, timeout_s=timeout_s)["data"]
                shots[f["id"]] = base64.b64decode(data)
            time.sleep(0.3)
            b.send("Runtime.evaluate", {"expression": "1"}, session=sid)   # drain late events
        finally:
            b.close()
    ev = b.events
    console = [e["params"] for e in ev if e.get("method") == "Runtime.consoleAPICalled"
               and e["params"].get("type") in ("error", "assert")]
    exceptions = [e["params"] for e in ev if e.get("method") == "Runtime.exceptionThrown"]
    log_errors = [e["params"]["entry"] for e in ev if e.get("method") == "Log.entryAdded"
                  and e["params"]["entry"].get("level") == "error"]
    requests = [e["params"]["request"]["url"] for e in ev if e.get("method") == "Network.requestWillBeSent"]
    failed = [e["params"] for e in ev if e.get("method") == "Network.loadingFailed"]
    return {"console_errors": console, "exceptions": exceptions, "log_errors": log_errors,
            "requests": requests, "failed": failed, "probe": probe, "screenshots": shots}


def png_pixels(data: bytes) -> tuple[int, int, int, list[bytearray]]:
    """Decode an 8-bit RGB/RGBA PNG -> (width, height, bytes per pixel, rows)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            up = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + up) & 255
            elif ftype == 3:
                line[i] = (line[i] + ((a + up) >> 1)) & 255
            elif ftype == 4:
                p = a + up - c
                pa, pb, pc = abs(p - a), abs(p - up), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else up if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return width, height, bpp, rows
