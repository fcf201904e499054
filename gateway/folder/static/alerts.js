// Web push subscription: registers the service worker, asks the browser
// for a push subscription with Obert's VAPID key, and sends it with the
// form (the quiet hours and the CSRF token go with it).
(function () {
  "use strict";
  var button = document.getElementById("push-button");
  var form = document.getElementById("alerts-form");
  if (!button || !form || !("serviceWorker" in navigator) || !("PushManager" in window)) {
    return;
  }
  document.getElementById("push-unsupported").hidden = true;
  button.hidden = false;
  function key(b64) {
    var s = (b64 + "===".slice((b64.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(s), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }
  button.addEventListener("click", function () {
    button.disabled = true;
    navigator.serviceWorker.register("/sw.js").then(function (reg) {
      return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key(button.dataset.key) });
    }).then(function (sub) {
      document.getElementById("push-subscription").value = JSON.stringify(sub.toJSON());
      var ch = document.createElement("input");
      ch.type = "hidden"; ch.name = "channel"; ch.value = "push";
      form.appendChild(ch);
      form.submit();
    }).catch(function () {
      button.disabled = false;
      document.getElementById("push-unsupported").hidden = false;
    });
  });
})();
