// The workbench's small script: sends the page's actions to the JSON API with the session's CSRF token,
// shows the answer, and reloads. Progressive: every page reads fine without it.
"use strict";
(function () {
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const flash = (text, ok) => {
    const box = document.getElementById("flash");
    if (!box) return;
    box.textContent = text;
    box.className = "flash " + (ok ? "ok" : "bad");
    box.hidden = false;
  };
  async function api(method, path, body) {
    const headers = { "X-CSRF-Token": csrf() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const resp = await fetch("/api/v1" + path, {
      method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    if (resp.status !== 204) { try { data = await resp.json(); } catch (e) { data = null; } }
    if (resp.status === 401 && !path.startsWith("/auth/login")) {
      location.href = "/console/login?next=" + encodeURIComponent(location.pathname + location.search);
      throw new Error("需要重新登录");
    }
    if (!resp.ok) throw new Error((data && data.error && data.error.message) || ("请求失败（" + resp.status + "）"));
    return data;
  }
  const done = (text) => { flash(text, true); setTimeout(() => location.reload(), 400); };
  const fail = (err) => flash(err.message, false);
  const fields = (form) => Object.fromEntries(new FormData(form).entries());

  function lengthCounter(form) {
    const area = form.querySelector("textarea[name=text]");
    const out = document.getElementById("length");
    const limit = parseInt(form.dataset.limit || "0", 10);
    const update = () => {
      const n = Array.from(area.value).length;
      out.textContent = String(n);
      out.className = limit && n > limit ? "over" : "";
    };
    area.addEventListener("input", update);
    update();
  }

  async function saveDraft(form) {
    const data = fields(form);
    const entry = data.kb_entry_id ? parseInt(data.kb_entry_id, 10) : null;
    if (form.dataset.reply) {
      return api("PATCH", "/replies/" + form.dataset.reply, { text: data.text });
    }
    const reply = await api("POST", "/messages/" + form.dataset.message + "/replies", { text: data.text, kb_entry_id: entry });
    form.dataset.reply = String(reply.id);
    return reply;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const login = document.getElementById("login-form");
    if (login) login.addEventListener("submit", (ev) => {
      ev.preventDefault();
      api("POST", "/auth/login", fields(login)).then(() => { location.href = login.dataset.next || "/console"; }, fail);
    });
    const draft = document.getElementById("draft-form");
    if (draft) {
      lengthCounter(draft);
      draft.addEventListener("submit", (ev) => { ev.preventDefault(); saveDraft(draft).then(() => done("草稿已保存"), fail); });
    }
    document.querySelectorAll("form[data-action]").forEach((form) => form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const data = fields(form);
      const id = form.dataset.id;
      const action = form.dataset.action;
      if (action === "reveal") {
        api("POST", "/messages/" + id + "/reveal?reason=" + encodeURIComponent(data.reason)).then((r) => {
          document.getElementById("content").textContent = r.content;
          document.getElementById("author").textContent = r.author.name + "（" + r.author.id + "）";
          flash("已显示原文（本次查看已记入审计日志）", true);
        }, fail);
      } else if (action === "transfer") {
        api("POST", "/messages/" + id + "/transfer", data).then(() => done("已转办"), fail);
      } else if (action === "out-of-scope") {
        api("POST", "/messages/" + id + "/out-of-scope", { text: data.text || null }).then(() => done("已标记为非本单位职责，告知答复已起草"), fail);
      } else if (action === "close") {
        api("POST", "/messages/" + id + "/close", { reason: data.reason, note: data.note || null }).then(() => done("已关闭"), fail);
      } else if (action === "review") {
        const decision = ev.submitter ? ev.submitter.value : "approve";
        const path = "/replies/" + form.dataset.reply + "/" + decision;
        api("POST", path, decision === "reject" ? { reason: data.reason } : undefined)
          .then(() => done(decision === "reject" ? "已退回" : "已通过"), fail);
      } else if (action === "kb-save") {
        api("PATCH", "/kb/entries/" + id, { question: data.question, answer: data.answer, status: data.status, note: data.note || null })
          .then(() => done("已保存"), fail);
      } else if (action === "kb-create") {
        api("POST", "/kb/entries", { question: data.question, answer: data.answer, unit_code: data.unit_code || null, status: data.status, note: data.note || null })
          .then((entry) => { location.href = "/console/kb?entry=" + entry.id; }, fail);
      } else if (action === "password") {
        api("POST", "/auth/password", data).then(() => { location.href = "/console/login"; }, fail);
      }
    }));
    document.addEventListener("click", (ev) => {
      const el = ev.target.closest("[data-action]");
      if (!el || el.tagName === "FORM") return;
      const action = el.dataset.action;
      if (action === "logout") {
        api("POST", "/auth/logout").then(() => { location.href = "/console/login"; }, () => { location.href = "/console/login"; });
      } else if (action === "use-suggestion" && draft) {
        draft.querySelector("textarea[name=text]").value = el.dataset.answer;
        draft.querySelector("input[name=kb_entry_id]").value = el.dataset.entry;
        draft.querySelector("textarea[name=text]").dispatchEvent(new Event("input"));
        draft.dataset.reply = "";
        flash("已填入建议答复，可修改后保存或提交", true);
      } else if (action === "submit-draft" && draft) {
        saveDraft(draft).then((reply) => api("POST", "/replies/" + (reply.id || draft.dataset.reply) + "/submit"))
          .then(() => done("已提交审核"), fail);
      } else if (action === "read") {
        api("POST", "/inbox/read", { keys: [el.dataset.key] }).then(() => done("已读"), fail);
      } else if (action === "read-all") {
        api("POST", "/inbox/read", { keys: [] }).then(() => done("全部已读"), fail);
      }
    });
  });
})();
