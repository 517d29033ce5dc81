// The approver page's only script, an enhancement: every page works without it.
// - Live updates: every 2 seconds the current page is fetched again and each element marked
//   `data-live` (with an id) is swapped for its new version, unless you are typing in it.
// - Time left: every `<time data-expires="UNIX SECONDS">` counts down each second.
(function () {
  "use strict";

  var POLL_MS = 2000;
  // The sandbox's clock may run ahead of this one (time travel in tests).
  var serverNow = Number(document.body.getAttribute("data-now"));
  var skew = serverNow > 0 ? serverNow - Date.now() / 1000 : 0;

  function timeLeft(expires) {
    var secs = Math.round(expires - (Date.now() / 1000 + skew));
    if (secs <= 0) return "expired";
    if (secs < 60) return secs + " s left";
    if (secs < 3600) return Math.ceil(secs / 60) + " min left";
    return Math.floor(secs / 3600) + " h " + Math.floor((secs % 3600) / 60) + " min left";
  }

  function tick() {
    document.querySelectorAll("time[data-expires]").forEach(function (el) {
      var expires = Number(el.getAttribute("data-expires"));
      if (expires > 0) el.textContent = timeLeft(expires);
    });
  }

  // What the server last sent for each live element, by id.
  var last = {};

  function busy(el) {
    var active = document.activeElement;
    return active && active !== document.body && el.contains(active) &&
      /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(active.tagName);
  }

  function swap(doc) {
    document.querySelectorAll("[data-live][id]").forEach(function (el) {
      var fresh = doc.getElementById(el.id);
      if (!fresh || fresh.innerHTML === last[el.id] || busy(el)) return;
      last[el.id] = fresh.innerHTML;
      el.replaceChildren.apply(el, Array.from(fresh.childNodes, function (node) {
        return document.importNode(node, true);
      }));
    });
    tick();
  }

  function poll() {
    if (document.hidden) return;
    fetch(location.pathname, { credentials: "same-origin", cache: "no-store" })
      .then(function (resp) {
        if (resp.status === 401) {
          location.reload();
          return null;
        }
        return resp.ok ? resp.text() : null;
      })
      .then(function (text) {
        if (text) swap(new DOMParser().parseFromString(text, "text/html"));
      })
      .catch(function () { /* the sandbox stopped: keep the page as it is */ });
  }

  var live = document.querySelectorAll("[data-live][id]");
  live.forEach(function (el) {
    last[el.id] = el.innerHTML;
  });
  tick();
  setInterval(tick, 1000);
  if (live.length > 0) setInterval(poll, POLL_MS);
})();
