// Obert's service worker: shows the alerts pushed to this browser. A
// message holds the aid's name and a link to the folder, nothing else.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  event.waitUntil(self.registration.showNotification(data.title || "Obert", {
    body: data.body || "", data: { url: data.url || "/folder/aids" }, lang: data.lang || ""
  }));
});
self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = new URL(event.notification.data.url, self.location.origin);
  if (url.origin !== self.location.origin) { url = new URL("/folder/aids", self.location.origin); }
  event.waitUntil(clients.openWindow(url.href));
});
