// The inbox updates by itself: it fetches its rows every few seconds, swaps them in without
// moving the keyboard focus, and announces new tasks in an aria-live region.
(function () {
  "use strict";
  var table = document.getElementById("innboks");
  if (!table) return;
  var url = table.getAttribute("data-poll-url");
  var versionUrl = table.getAttribute("data-version-url");
  var version = table.getAttribute("data-version");
  var seconds = Number(table.getAttribute("data-poll-seconds")) || 5;
  var live = document.getElementById("nye-oppgaver");
  var visible = document.getElementById("innboks-varsel");

  function taskIds(tbody) {
    var ids = {};
    tbody.querySelectorAll("tr[data-task-id]").forEach(function (row) {
      ids[row.getAttribute("data-task-id")] = row.getAttribute("data-label");
    });
    return ids;
  }

  function announce(labels) {
    if (!labels.length) return;
    var text = labels.length === 1
      ? "Ny oppgave i innboksen: " + labels[0]
      : labels.length + " nye oppgaver i innboksen: " + labels.join("; ");
    live.textContent = text;
    visible.textContent = text;
  }

  function swap(fresh) {
    var current = document.getElementById("innboks-rader");
    var focused = document.activeElement;
    var focusHref = current.contains(focused) ? focused.getAttribute("href") : null;
    var before = taskIds(current);
    var after = taskIds(fresh);
    var added = Object.keys(after).filter(function (id) { return !(id in before); });
    current.replaceWith(fresh);
    if (focusHref) {
      var again = fresh.querySelector('a[href="' + focusHref + '"]');
      if (again) again.focus();
    }
    announce(added.map(function (id) { return after[id]; }));
  }

  // Ask cheaply whether anything changed; fetch the rows (which carry patient data and are
  // logged as a read) only when it did.
  function poll() {
    fetch(versionUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (response.redirected || !response.ok) throw new Error("inbox " + response.status);
        return response.json();
      })
      .then(function (body) {
        if (body.version === version) return null;
        return refresh().then(function () { version = body.version; });
      })
      .catch(function () { /* try again at the next tick */ })
      .finally(function () { window.setTimeout(poll, seconds * 1000); });
  }

  function refresh() {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected || !response.ok) throw new Error("inbox " + response.status);
        return response.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString("<table>" + html + "</table>", "text/html");
        var fresh = doc.getElementById("innboks-rader");
        if (fresh) swap(document.importNode(fresh, true));
      });
  }

  window.setTimeout(poll, seconds * 1000);
})();
