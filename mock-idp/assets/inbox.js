// Live updates for the inbox page: the list is server-rendered (and works without this script);
// on each server-sent event the rows are fetched again, already escaped, and swapped in.
(() => {
  const rows = document.getElementById("rows");
  const live = document.getElementById("live");
  if (!rows || !window.EventSource) return;
  const url = "/rows" + window.location.search;
  const refresh = () =>
    fetch(url)
      .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
      .then((html) => { rows.innerHTML = html; })
      .catch(() => {});
  const events = new EventSource("/_inbox/events");
  events.addEventListener("message", refresh);
  events.addEventListener("cleared", refresh);
  events.onopen = () => { live.hidden = false; live.textContent = "· live"; refresh(); };
  events.onerror = () => { live.hidden = false; live.textContent = "· reconnecting…"; };
})();
