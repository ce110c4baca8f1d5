// The demo shop's own script: a product grid, a cart kept in
// sessionStorage, a search box, SPA navigation with history.pushState, and
// the checkout form. It knows nothing about replay: recorder.js records it.
(() => {
  'use strict';
  const products = [
    { id: 'mug', name: 'Gopher Mug', price: 12, mark: 'GM', color: '#ffe3c2', text: 'Holds 350 ml of coffee, or one goroutine.' },
    { id: 'tee', name: 'Nil Pointer Tee', price: 24, mark: 'NT', color: '#d4ecff', text: 'Soft cotton; never dereferenced.' },
    { id: 'socks', name: 'Concurrent Socks', price: 9, mark: 'CS', color: '#e6f7d9', text: 'Two of them, running in parallel.' },
    { id: 'cap', name: 'Garbage Cap', price: 18, mark: 'GC', color: '#fbe0ef', text: 'Collects compliments, not pauses.' },
    { id: 'sticker', name: 'Sticker Pack', price: 5, mark: 'SP', color: '#fff6bf', text: 'Twelve gophers for your laptop.' },
    { id: 'plush', name: 'Plush Gopher', price: 29, mark: 'PG', color: '#e5e1ff', text: 'The one true mascot, huggable.' },
  ];
  const $ = (sel) => document.querySelector(sel);
  const el = (tag, props, ...children) => {
    const e = Object.assign(document.createElement(tag), props);
    e.append(...children);
    return e;
  };

  // The cart lives in sessionStorage so it follows the visit to checkout.
  const cart = () => Number(sessionStorage.getItem('cart') || 0);
  const showCart = () => {
    const n = $('#cart-count');
    if (n) n.textContent = String(cart());
  };
  const addToCart = (p) => {
    sessionStorage.setItem('cart', String(cart() + 1));
    showCart();
    window.replay?.event('add-to-cart', { product: p.id, price: p.price });
  };

  function card(p) {
    const link = el('a', { className: 'card-link', href: '/product/' + p.id },
      el('div', { className: 'art', textContent: p.mark, style: `background:${p.color}` }),
      el('h2', { textContent: p.name }));
    const add = el('button', { className: 'add', textContent: 'Add to cart', onclick: () => addToCart(p) });
    add.dataset.product = p.id;
    return el('article', { className: 'card', id: 'card-' + p.id },
      link, el('p', { className: 'price', textContent: '$' + p.price }), add);
  }

  function renderGrid() {
    const q = $('#search').value.trim().toLowerCase();
    const shown = products.filter((p) => p.name.toLowerCase().includes(q));
    $('#grid').replaceChildren(...(shown.length ? shown.map(card) : [el('p', { className: 'empty', textContent: 'No product matches.' })]));
  }

  function renderProduct(p) {
    $('#product').replaceChildren(
      el('div', { className: 'art big', textContent: p.mark, style: `background:${p.color}` }),
      el('div', {},
        el('p', { className: 'lead', textContent: p.text }),
        el('p', { className: 'price', textContent: '$' + p.price }),
        el('button', { className: 'add', id: 'add-product', textContent: 'Add to cart', onclick: () => addToCart(p) }),
        ' ',
        el('a', { href: '/', className: 'back', textContent: '← All products' })));
  }

  // route draws the page for the current URL: the grid at /, a product at
  // /product/{id}. Navigation between them uses pushState, not page loads.
  function route() {
    const m = location.pathname.match(/^\/product\/([\w-]+)$/);
    const p = m && products.find((x) => x.id === m[1]);
    $('#grid').hidden = !!p;
    $('#lead').hidden = !!p;
    $('#product').hidden = !p;
    $('#title').textContent = p ? p.name : 'Gopher Goods';
    document.title = (p ? p.name + ' · ' : '') + 'Gopher Goods';
    if (p) renderProduct(p);
    else renderGrid();
  }

  function shop() {
    document.addEventListener('click', (e) => {
      const a = e.target.closest('a');
      if (!a || a.origin !== location.origin || e.metaKey || e.ctrlKey) return;
      if (a.pathname === '/' || a.pathname.startsWith('/product/')) {
        e.preventDefault();
        history.pushState(null, '', a.pathname);
        route();
        scrollTo(0, 0);
      }
    });
    addEventListener('popstate', route);
    $('#search').addEventListener('input', () => {
      if (location.pathname !== '/') history.pushState(null, '', '/');
      route();
    });
    $('#boom').addEventListener('click', () => {
      throw new Error('Demo error: the discount service is down');
    });
    $('#reject').addEventListener('click', () => {
      Promise.reject(new Error('Demo rejection: the stock service timed out'));
    });
    route();
  }

  function checkout() {
    $('#pay-form').addEventListener('submit', (e) => {
      e.preventDefault();
      sessionStorage.setItem('cart', '0');
      window.replay?.event('purchase', { items: cart() });
      location.href = '/thanks';
    });
  }

  showCart();
  if (document.body.dataset.page === 'shop') shop();
  if (document.body.dataset.page === 'checkout') checkout();
})();
