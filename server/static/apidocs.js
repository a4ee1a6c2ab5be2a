// Renders /api/openapi.json as a list of endpoints grouped by tag. Plain DOM, no library, nothing external.
(function () {
  "use strict";
  var root = document.getElementById("apidocs");
  if (!root) { return; }
  var msg = JSON.parse(root.getAttribute("data-messages") || "{}");
  var METHODS = ["get", "post", "put", "patch", "delete"];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) { return; }
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function refName(ref) { return ref.split("/").pop(); }

  // A short name for a schema: its component name, "X[]" for arrays, the type otherwise.
  function schemaName(s) {
    if (!s) { return ""; }
    if (s.$ref) { return refName(s.$ref); }
    if (s.type === "array") { return schemaName(s.items) + "[]"; }
    if (s.type === "object" && s.additionalProperties) { return "object<" + schemaName(s.additionalProperties) + ">"; }
    var name = s.type || "object";
    if (s.format) { name += " (" + s.format + ")"; }
    if (s.enum) { name += ": " + s.enum.join(" | "); }
    return name;
  }

  function resolve(spec, obj) {
    if (obj && obj.$ref) {
      var parts = obj.$ref.replace(/^#\//, "").split("/");
      var cur = spec;
      parts.forEach(function (p) { cur = cur ? cur[p] : undefined; });
      return cur || obj;
    }
    return obj;
  }

  function contentSchemas(content) {
    return Object.keys(content || {}).map(function (type) {
      return el("span", {}, [el("code", { "class": "schema-ref" }, [schemaName(content[type].schema)]), " (" + type + ")"]);
    });
  }

  function table(headers, rows) {
    return el("div", { "class": "table-wrap" }, [el("table", {}, [
      el("thead", {}, [el("tr", {}, headers.map(function (h) { return el("th", {}, [h]); }))]),
      el("tbody", {}, rows.map(function (r) {
        return el("tr", {}, r.map(function (cell) { return el("td", {}, [cell]); }));
      }))
    ])]);
  }

  function operation(spec, path, method, pathItem, op) {
    var params = (pathItem.parameters || []).concat(op.parameters || []).map(function (p) { return resolve(spec, p); });
    var body = el("div", { "class": "op-body" }, []);
    body.appendChild(el("h3", {}, [msg.parameters]));
    if (params.length) {
      body.appendChild(table([msg.name, msg["in"], msg.type, msg.description], params.map(function (p) {
        var schema = p.schema || {};
        var type = schemaName(schema) + (schema["default"] !== undefined ? " = " + JSON.stringify(schema["default"]) : "");
        return [el("code", {}, [p.name]), p["in"], type,
                (p.required ? msg.required + " " : "") + (p.description || "")];
      })));
    } else {
      body.appendChild(el("p", { "class": "muted" }, [msg.none]));
    }
    if (op.requestBody) {
      var rb = resolve(spec, op.requestBody);
      body.appendChild(el("h3", {}, [msg.request]));
      body.appendChild(el("p", {}, contentSchemas(rb.content)));
    }
    body.appendChild(el("h3", {}, [msg.responses]));
    body.appendChild(el("ul", { "class": "plain" }, Object.keys(op.responses || {}).map(function (status) {
      var resp = resolve(spec, op.responses[status]);
      var name = op.responses[status].$ref ? refName(op.responses[status].$ref) : "";
      return el("li", {}, [el("strong", {}, [status]), " ", resp.description || name, " "].concat(contentSchemas(resp.content)));
    })));
    return el("details", { "class": "op", "data-path": path, "data-method": method }, [
      el("summary", {}, [
        el("span", { "class": "method method-" + method }, [method.toUpperCase()]),
        el("code", { "class": "op-path" }, [path]),
        el("span", { "class": "op-summary" }, [op.summary || ""])
      ]),
      body
    ]);
  }

  function render(spec) {
    var groups = {};
    var order = (spec.tags || []).map(function (tag) { return tag.name; });
    var described = {};
    (spec.tags || []).forEach(function (tag) { described[tag.name] = tag.description || ""; });
    Object.keys(spec.paths || {}).forEach(function (path) {
      var item = spec.paths[path];
      METHODS.forEach(function (method) {
        if (!item[method]) { return; }
        var tag = (item[method].tags || ["default"])[0];
        if (order.indexOf(tag) < 0) { order.push(tag); }
        (groups[tag] = groups[tag] || []).push(operation(spec, path, method, item, item[method]));
      });
    });
    root.textContent = "";
    var info = spec.info || {};
    root.appendChild(el("p", {}, [el("strong", {}, [info.title || ""]), " v" + (info.version || ""), " — " + (info.description || "")]));
    order.forEach(function (tag) {
      if (!groups[tag]) { return; }
      root.appendChild(el("section", { "class": "api-tag", "data-tag": tag },
        [el("h2", {}, [described[tag] || tag])].concat(groups[tag])));
    });
    var schemas = (spec.components || {}).schemas || {};
    var section = el("section", { "class": "api-tag" }, [el("h2", {}, [msg.schemas])]);
    Object.keys(schemas).sort().forEach(function (name) {
      var props = schemas[name].properties || {};
      var required = schemas[name].required || [];
      section.appendChild(el("details", { "class": "op", "id": "schema-" + name }, [
        el("summary", {}, [el("code", { "class": "op-path" }, [name])]),
        el("div", { "class": "op-body" }, [table([msg.name, msg.type, msg.description], Object.keys(props).map(function (p) {
          return [el("code", {}, [p]), schemaName(props[p]),
                  (required.indexOf(p) >= 0 ? msg.required + " " : "") + (props[p].description || "")];
        }))])
      ]));
    });
    root.appendChild(section);
  }

  root.textContent = msg.loading;
  fetch(root.getAttribute("data-spec"), { headers: { "Accept": "application/json" } })
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(render)
    .catch(function (err) { root.textContent = msg.failed + " (" + err.message + ")"; });
})();
