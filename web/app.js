// Gatehouse portal: the little JavaScript the pages use. Everything works without it; it adds
// search as you type, copy buttons and confirmations. No inline script anywhere (strict CSP).
'use strict';
(function () {
  // Search as you type: the catalog form submits itself (debounced), keeping focus where it was.
  const search = document.querySelector('form[data-live] input[type=search]');
  if (search) {
    let timer = null;
    search.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const form = search.form;
        const url = new URL(form.action, location.href);
        url.search = new URLSearchParams(new FormData(form)).toString();
        const res = await fetch(url, { headers: { accept: 'text/html' }, credentials: 'same-origin' });
        if (!res.ok) return;
        const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
        for (const id of ['results', 'facets']) {
          const fresh = doc.getElementById(id), old = document.getElementById(id);
          if (fresh && old) old.replaceWith(fresh);
        }
        history.replaceState(null, '', url);
      }, 200);
    });
  }
  // Facet checkboxes apply at once.
  for (const box of document.querySelectorAll('form[data-live] .facets input[type=checkbox]'))
    box.addEventListener('change', () => box.form.submit());
  // Copy buttons: data-copy names the element whose text is copied.
  for (const b of document.querySelectorAll('button[data-copy]')) {
    b.hidden = false;
    b.addEventListener('click', async () => {
      const el = document.getElementById(b.dataset.copy);
      try {
        await navigator.clipboard.writeText(el.textContent.trim());
        b.textContent = 'Copied';
      } catch {
        const r = document.createRange();
        r.selectNodeContents(el);
        getSelection().removeAllRanges();
        getSelection().addRange(r);
        b.textContent = 'Selected: press Ctrl+C';
      }
    });
  }
  // Confirmation before what cannot be undone (revoke, rotate, deny).
  for (const f of document.querySelectorAll('form[data-confirm]'))
    f.addEventListener('submit', (e) => { if (!confirm(f.dataset.confirm)) e.preventDefault(); });
})();
