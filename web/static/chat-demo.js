// Embeds the widget the way a website does; ?lang= and ?open= are passed through so the
// demo can show either language.
(function () {
  const q = new URLSearchParams(location.search);
  const s = document.createElement("script");
  s.src = "/ui/widget.js";
  if (q.get("lang")) s.setAttribute("data-lang", q.get("lang"));
  if (q.get("open")) s.setAttribute("data-open", q.get("open"));
  document.body.appendChild(s);
})();
