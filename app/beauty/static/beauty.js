// Live refresh of the product table, node badge, status and cluster cards.
// Only those elements are replaced: the page never reloads and forms keep what the user typed.
(function () {
  "use strict";

  // Ask before deleting; a static handler keeps the page free of inline script (strict CSP).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  var dashboard = document.getElementById("dashboard");
  if (!dashboard) {
    return;
  }
  var seconds = parseFloat(dashboard.dataset.refreshSeconds) || 3;
  var productsUrl = dashboard.dataset.productsUrl;
  var statusUrl = dashboard.dataset.statusUrl;
  // Server-built URLs for product 0; the id is swapped in, so a URL prefix keeps working.
  var editUrl = dashboard.dataset.editUrl;
  var deleteUrl = dashboard.dataset.deleteUrl;
  var tbody = document.getElementById("products-body");
  var csrfMeta = document.querySelector("meta[name=csrf-token]");
  var csrfToken = csrfMeta ? csrfMeta.content : "";
  var lastProducts = null;
  var refreshCount = 0;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") {
        node.textContent = attrs[key];
      } else {
        node.setAttribute(key, attrs[key]);
      }
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function forProduct(url, id) {
    return url.replace("/0/", "/" + encodeURIComponent(id) + "/");
  }

  function icon(name) {
    return el("i", { "class": "bi bi-" + name });
  }

  function actionsCell(p) {
    var edit = el("a", {
      "class": "btn btn-sm btn-outline-secondary",
      href: forProduct(editUrl, p.id),
      title: "Edit"
    }, [icon("pencil"), document.createTextNode(" Edit")]);
    var form = el("form", {
      "class": "d-inline",
      method: "post",
      action: forProduct(deleteUrl, p.id),
      "data-confirm": "Delete this product?"
    }, [
      el("input", { type: "hidden", name: "csrf_token", value: csrfToken }),
      el("button", { type: "submit", "class": "btn btn-sm btn-outline-danger", title: "Delete" },
        [icon("trash"), document.createTextNode(" Delete")])
    ]);
    return el("td", { "class": "text-end text-nowrap" }, [edit, document.createTextNode(" "), form]);
  }

  function row(p, known) {
    var tr = el("tr", { "data-product-id": String(p.id) }, [
      el("td", { text: String(p.id) }),
      el("td", { "class": "product-name", text: p.name }),
      el("td", { "class": "text-nowrap", text: p.price_display }),
      el("td", { "class": "text-nowrap", text: p.stock + " pcs" }),
      el("td", { "class": "text-nowrap", text: p.created_at_display }),
      actionsCell(p)
    ]);
    if (known && !known[p.id]) {
      tr.classList.add("just-added");
    }
    return tr;
  }

  function renderProducts(list) {
    var serialized = JSON.stringify(list);
    if (serialized === lastProducts) {
      return;
    }
    var known = {};
    Array.prototype.forEach.call(tbody.querySelectorAll("tr[data-product-id]"), function (tr) {
      known[tr.dataset.productId] = true;
    });
    var fragment = document.createDocumentFragment();
    list.forEach(function (p) { fragment.appendChild(row(p, lastProducts === null ? null : known)); });
    tbody.replaceChildren(fragment);
    document.getElementById("products-empty").classList.toggle("d-none", list.length > 0);
    lastProducts = serialized;
  }

  // The link to older products, as the server renders it, kept true as the list changes:
  // a first page that fills up gets it, one that no longer has older products loses it.
  function renderPager(list, next) {
    var older = document.getElementById("page-older");
    var nav = document.getElementById("products-pages");
    if (!next || list.length === 0) {
      if (older) {
        older.remove();
        if (nav && !document.getElementById("page-newest")) {
          nav.remove();
        }
      }
      return;
    }
    var url = new URL(window.location.href);
    url.searchParams.set("before", String(list[list.length - 1].id));
    url.hash = "";
    if (!older) {
      if (!nav) {
        nav = el("nav", {
          "class": "card-footer d-flex justify-content-between",
          id: "products-pages",
          "aria-label": "Product pages"
        }, [el("span")]);
        document.getElementById("products-empty").after(nav);
      }
      older = el("a", { "class": "btn btn-sm btn-outline-secondary", id: "page-older" },
        [document.createTextNode("Older products "), icon("chevron-right")]);
      nav.appendChild(older);
    }
    older.setAttribute("href", url.pathname + url.search);
  }

  function setText(id, text) {
    var node = document.getElementById(id);
    if (node && node.textContent !== text) {
      node.textContent = text;
    }
  }

  function setDatabase(ok) {
    var badge = document.getElementById("status-database");
    badge.textContent = ok ? "Connected" : "Unavailable";
    badge.classList.toggle("bg-success", ok);
    badge.classList.toggle("bg-danger", !ok);
  }

  function renderStatus(status) {
    setDatabase(true);
    setText("current-node-name", status.node);
    setText("status-node", status.node);
    setText("status-total", String(status.total_products) + (status.total_products_more ? "+" : ""));
    var cluster = status.cluster || {};
    document.getElementById("cluster-not-galera").classList.toggle("d-none", !!cluster.galera);
    document.getElementById("cluster-details").classList.toggle("d-none", !cluster.galera);
    Array.prototype.forEach.call(document.querySelectorAll("[data-cluster]"), function (dd) {
      var value = cluster[dd.dataset.cluster];
      dd.textContent = value === null || value === undefined || value === "" ? "\u2014" : String(value);
    });
  }

  function getJson(url) {
    return fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(url + " answered " + response.status);
        }
        return response.json();
      });
  }

  function refresh() {
    Promise.all([getJson(productsUrl), getJson(statusUrl)])
      .then(function (results) {
        renderProducts(results[0].products);
        renderPager(results[0].products, results[0].next);
        renderStatus(results[1]);
      })
      .catch(function () {
        setDatabase(false);
      })
      .finally(function () {
        refreshCount += 1;
        document.body.dataset.refreshCount = String(refreshCount);
        window.setTimeout(refresh, seconds * 1000);
      });
  }

  window.setTimeout(refresh, seconds * 1000);
}());
