"""What the package's static pages share: their style sheet and their self-check script.

The report (:mod:`auralisation.ui.report`) and the atlas (:mod:`auralisation.atlas`) are folders of HTML with
audio and images beside it, read without a server. Every page carries :data:`SELF_CHECK_SCRIPT` in a ``<script>``
element: in the browser it checks that every ``<audio>`` decodes and every ``<img>`` loads, and writes the result
into the page (``<body data-selfcheck="ok">`` and the text of the element with id ``selfcheck``); it fetches
nothing.

Examples
--------
>>> "selfcheck" in SELF_CHECK_SCRIPT and "audio" in PAGE_STYLE
True
"""

from __future__ import annotations

__all__ = ["PAGE_STYLE", "SELF_CHECK_SCRIPT"]

#: The page's self-check: every <audio> must load its metadata (it decodes) and every <img> must load.
SELF_CHECK_SCRIPT = """
(function () {
  var errors = [];
  window.addEventListener("error", function (event) { errors.push(event.message || "script error"); });
  function finish(total, ok, failed) {
    var problems = failed.concat(errors), body = document.body;
    body.dataset.audioTotal = total;
    body.dataset.audioOk = ok;
    body.dataset.failed = problems.join(" ");
    body.dataset.selfcheck = problems.length ? "failed" : "ok";
    document.getElementById("selfcheck").textContent = problems.length
      ? "Self-check: " + ok + " of " + total + " players decode; failed: " + problems.join(", ")
      : "Self-check: all " + total + " players decode and all images load.";
  }
  window.addEventListener("load", function () {
    var failed = [];
    Array.prototype.forEach.call(document.images, function (img) {
      if (!img.naturalWidth) { failed.push(img.getAttribute("src")); }
    });
    var audios = Array.prototype.slice.call(document.querySelectorAll("audio"));
    var ok = 0, pending = audios.length;
    function settle(audio, good) {
      if (audio.dataset.checked) { return; }
      audio.dataset.checked = good ? "ok" : "failed";
      if (good) { ok += 1; } else { failed.push(audio.getAttribute("src")); }
      pending -= 1;
      if (pending === 0) { finish(audios.length, ok, failed); }
    }
    if (pending === 0) { finish(0, 0, failed); }
    audios.forEach(function (audio) {
      var decoded = function () { return isFinite(audio.duration) && audio.duration > 0; };
      if (audio.error) { settle(audio, false); }
      else if (audio.readyState >= 1) { settle(audio, decoded()); }
      else {
        audio.addEventListener("loadedmetadata", function () { settle(audio, decoded()); });
        audio.addEventListener("error", function () { settle(audio, false); });
      }
    });
  });
})();
"""

#: The pages' style sheet.
PAGE_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1300px; color: #222; }
h1 { font-size: 1.5em; } h2 { border-top: 2px solid #ccc; padding-top: .6em; } h3 { margin-bottom: .2em; }
img { max-width: 100%; display: block; }
table.features td { text-align: center; padding: 2px 6px; font-size: .85em; }
audio { width: 200px; height: 32px; }
.meta { color: #555; font-size: .9em; }
"""
