// The S2S portal: a single page app with one thing per page, routed on location.pathname so
// that the links in emails (/transfers/<id>) open the right page. Plain ES modules, no build.
//
// Nothing here downloads by itself: a transfer's page asks the API for a short-lived link only
// when the Download button is pressed, because mail scanners and previews open links in emails.

import { api, ApiError, configureApi, StaleNavigation, uploadWithProgress } from "./api.js";
import { currentUser, finishSignIn, signOut, startSignIn } from "./auth.js";
import { age, formatDate, formatDateTime, formatSize, h, replace, s, summaryList, table } from "./dom.js";
import { loadNaming, NamingError } from "./naming.js";

const STATUS_WORDS = {
  pending_upload: "Waiting for upload",
  available: "Ready to download",
  downloaded: "Downloaded",
  withdrawn: "Withdrawn by the sender",
  removed: "Removed",
  rejected: "Rejected",
  expired: "Expired",
};

const main = document.getElementById("main-content");
const nav = document.getElementById("site-nav");
const account = document.getElementById("account");
let config = null;
let user = null;
let pollTimer = null;

// ------------------------------------------------------------------------- routing

const ROUTES = [
  [/^\/$/, home],
  [/^\/callback$/, callback],
  [/^\/inbox$/, () => transferList("inbox")],
  [/^\/sent$/, () => transferList("outbox")],
  [/^\/la-files$/, () => transferList("la")],
  [/^\/transfers\/([A-Za-z0-9_-]{1,100})$/, transferPage],
  [/^\/upload$/, uploadPage],
  [/^\/subscriptions$/, subscriptionsPage],
  [/^\/reports$/, reportsPage],
  [/^\/undownloaded$/, undownloadedPage],
  [/^\/lost-pupils$/, lostPupilsPage],
];

// Who may open which page; anyone else is sent home.
const ALLOWED = {
  "/inbox": ["school", "la"],
  "/sent": ["school", "la"],
  "/la-files": ["la"],
  "/upload": ["school", "la"],
  "/subscriptions": ["school", "la"],
  "/reports": ["la", "dfe"],
  "/undownloaded": ["la", "dfe"],
  "/lost-pupils": ["la"],
};

export function navigate(path, { replaceState = false } = {}) {
  if (replaceState) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  route();
}

async function route() {
  clearTimeout(pollTimer);
  const path = location.pathname;
  // The token changes on sign-in and sign-out: read it afresh on every navigation.
  user = currentUser();
  configureApi({ apiUrl: config.api_url, token: user && user.token, onUnauthorised: expired });
  renderHeader();
  if (path !== "/callback" && path !== "/" && !user) return signInPage(path);
  const allowed = ALLOWED[path];
  if (allowed && !allowed.includes(user.kind)) return navigate("/", { replaceState: true });
  for (const [pattern, page] of ROUTES) {
    const match = pattern.exec(path);
    if (match) {
      try {
        await page(...match.slice(1));
      } catch (error) {
        showError(error);
      }
      return;
    }
  }
  page("Page not found", h("p", {}, "There is no page at this address. "), h("p", {}, h("a", { href: "/" }, "Go to the start")));
}

/** Render a page: a heading that takes focus (so screen readers announce it) and its content. */
function page(title, ...content) {
  document.title = `${title} - Send files school to school`;
  const heading = h("h1", { class: "heading-l", tabindex: "-1" }, title);
  replace(main, heading, ...content);
  // After an in-app navigation, move focus to the new heading so screen readers announce it; on
  // the first load leave it alone, so that Tab reaches the skip link first.
  if (rendered) heading.focus();
  rendered = true;
}

let rendered = false;

function showError(error) {
  if (error instanceof StaleNavigation) return; // the page it was for is gone
  if (error instanceof ApiError && error.status === 401) return signInPage(location.pathname);
  const title = error instanceof ApiError && error.status === 404 ? "File not found" : "Sorry, there is a problem";
  page(title, errorSummary(error));
}

function errorSummary(error, extra = []) {
  return h(
    "div",
    { class: "error-summary", role: "alert", tabindex: "-1" },
    h("h2", { class: "error-summary-title" }, "There is a problem"),
    h("p", { class: "error-message" }, error.message),
    extra,
  );
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href]");
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const href = link.getAttribute("href");
  if (!href.startsWith("/") || href.startsWith("//") || link.hasAttribute("download")) return;
  event.preventDefault();
  navigate(href);
});

window.addEventListener("popstate", route);

// ------------------------------------------------------------------------- header and sign-in

function renderHeader() {
  if (!user) {
    replace(nav);
    replace(account);
    return;
  }
  const links = {
    school: [["/inbox", "Inbox"], ["/sent", "Sent files"], ["/upload", "Send a file"], ["/subscriptions", "Email alerts"]],
    la: [
      ["/inbox", "Inbox"], ["/sent", "Sent files"], ["/upload", "Send a file"], ["/la-files", "Your schools' files"],
      ["/reports", "Reports"], ["/undownloaded", "Not downloaded"], ["/lost-pupils", "Lost pupils"],
      ["/subscriptions", "Email alerts"],
    ],
    dfe: [["/reports", "Reports"], ["/undownloaded", "Not downloaded"]],
  }[user.kind] || [];
  replace(
    nav,
    h("ul", { class: "nav-list" }, links.map(([href, text]) => {
      const current = location.pathname === href;
      return h("li", {}, h("a", { href, class: "nav-link", "aria-current": current ? "page" : null }, text));
    })),
  );
  replace(
    account,
    h("span", { class: "account-org", "data-testid": "org-name" }, user.name || user.org),
    " ",
    h("span", { class: "account-email" }, user.email),
    " ",
    h("button", {
      type: "button",
      class: "button button-secondary",
      onclick: () => {
        signOut();
        navigate("/");
      },
    }, "Sign out"),
  );
}

function signInPage(returnTo = "/") {
  page(
    "Send files school to school",
    h("p", { class: "lead" }, "Send and receive pupil files (CTF, ATF and admissions files) securely between schools and local authorities."),
    h("p", {}, "Sign in with your DfE Sign-in account to see your files."),
    h("button", { type: "button", class: "button", id: "sign-in", onclick: () => startSignIn(config, returnTo) }, "Sign in"),
  );
}

async function callback() {
  page("Signing you in", h("p", {}, "Please wait."));
  let next;
  try {
    next = await finishSignIn(config);
  } catch (error) {
    page("Sign-in did not work", errorSummary(error), h("button", { type: "button", class: "button", onclick: () => startSignIn(config, "/") }, "Sign in again"));
    return;
  }
  navigate(next, { replaceState: true });
}

function expired() {
  signOut();
}

function home() {
  if (!user) return signInPage("/");
  if (user.kind === "dfe") return navigate("/reports", { replaceState: true });
  if (user.kind === "unknown") {
    return page("You cannot use this service", h("p", {}, "Your sign-in is not for a school, a local authority or the Department for Education."));
  }
  return navigate("/inbox", { replaceState: true });
}

// ------------------------------------------------------------------------- transfers

function statusTag(status) {
  return h("strong", { class: `tag tag-${status}` }, STATUS_WORDS[status] || status);
}

async function transferList(box) {
  const titles = { inbox: "Inbox", outbox: "Sent files", la: "Your schools' files" };
  page(titles[box], h("p", {}, "Loading..."));
  const items = [];
  let cursor = null;
  do {
    const result = await api("GET", "/transfers", { query: { box, cursor, limit: 100 } });
    items.push(...result.items);
    cursor = result.next_cursor;
  } while (cursor && items.length < 500);
  const who = box === "inbox" ? "From" : box === "outbox" ? "To" : "From / to";
  const rows = items.map((item) => [
    h("a", { href: `/transfers/${item.transfer_id}`, class: "file-link" }, item.filename),
    box === "inbox" ? item.source_name || item.source : box === "outbox" ? item.recipient : `${item.source} → ${item.recipient}`,
    statusTag(item.status),
    age(item.available_at || item.created_at),
    formatDate(item.expires_at),
  ]);
  const empty = { inbox: "No files have been sent to you.", outbox: "You have not sent any files.", la: "No files to or from your schools." }[box];
  page(
    titles[box],
    items.length
      ? table(titles[box], ["File", who, "Status", "Age", "Expires"], rows, { "data-testid": "transfer-table" })
      : h("p", { class: "empty" }, empty),
    box === "la" ? null : h("p", {}, h("a", { href: "/upload", class: "button" }, "Send a file")),
  );
}

async function transferPage(id) {
  const transfer = await api("GET", `/transfers/${encodeURIComponent(id)}`);
  const result = h("div", { id: "download-result", "aria-live": "polite" });
  const actions = h("div", { class: "button-group" });
  if (transfer.can_download) {
    actions.append(
      h("button", { type: "button", class: "button", id: "download", onclick: (event) => download(transfer, event.currentTarget, result) }, "Download"),
    );
  }
  if (transfer.direction !== "received" && transfer.status === "available") {
    actions.append(
      h("button", { type: "button", class: "button button-warning", onclick: () => withdraw(transfer, result) }, "Withdraw this file"),
    );
  }
  const audit = (transfer.audit || []).map((event) => [formatDateTime(event.at), event.action.replace(/_/g, " "), event.actor_org, event.actor_user]);
  const receipts = (transfer.downloads || []).map((receipt) => [formatDateTime(receipt.at), receipt.organisation, receipt.user]);
  page(
    transfer.filename,
    h("p", {}, statusTag(transfer.status)),
    transfer.status === "rejected"
      ? h("div", { class: "error-summary", role: "alert" }, h("h2", { class: "error-summary-title" }, "This file was rejected"), h("p", { "data-testid": "reason" }, transfer.reason_message || transfer.reason))
      : null,
    summaryList([
      ["From", `${transfer.source_name || ""} (${transfer.source})`],
      ["To", transfer.lost_pupil ? `Lost Pupils Database (${transfer.destination})` : transfer.recipient],
      ["Type", transfer.file_type],
      ["Size", formatSize(transfer.size_bytes)],
      ["UPN", transfer.upn],
      ["SHA-256", transfer.sha256 ? h("code", { class: "hash" }, transfer.sha256) : null],
      ["Sent", formatDateTime(transfer.available_at || transfer.created_at)],
      ["First downloaded", formatDateTime(transfer.downloaded_at)],
      ["Expires", formatDate(transfer.expires_at)],
    ]),
    actions,
    result,
    h("h2", { class: "heading-m" }, "Downloads"),
    receipts.length ? table("Download receipts", ["When", "Organisation", "User"], receipts) : h("p", {}, "Nobody has downloaded this file yet."),
    h("h2", { class: "heading-m" }, "History"),
    audit.length ? table("Audit trail", ["When", "What", "Organisation", "User"], audit, { "data-testid": "audit" }) : h("p", {}, "No history yet."),
  );
}

async function download(transfer, button, result) {
  button.disabled = true;
  try {
    // A fresh link, valid for minutes, asked for only now that a person has pressed the button.
    const link = await api("POST", `/transfers/${encodeURIComponent(transfer.transfer_id)}/download`);
    replace(result, h("p", { class: "notice" }, "Your download has started."));
    location.assign(link.url);
  } catch (error) {
    replace(result, errorSummary(error));
  } finally {
    button.disabled = false;
  }
}

async function withdraw(transfer, result) {
  if (!window.confirm(`Withdraw ${transfer.filename}? The recipient will no longer be able to download it.`)) return;
  try {
    await api("DELETE", `/transfers/${encodeURIComponent(transfer.transfer_id)}`);
    await transferPage(transfer.transfer_id);
  } catch (error) {
    replace(result, errorSummary(error));
  }
}

// ------------------------------------------------------------------------- upload

async function sha256Hex(file) {
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const HASH_LIMIT = 100 * 1024 * 1024; // hashing reads the whole file into memory

async function uploadPage() {
  const naming = await loadNaming();
  const fileInput = h("input", { type: "file", id: "file", name: "file", class: "file-upload", accept: ".zip,application/zip", "aria-describedby": "file-hint file-error" });
  const nameError = h("div", { id: "file-error", "aria-live": "polite" });
  const upnInput = h("input", { type: "text", id: "upn", name: "upn", class: "input input-width-20", autocomplete: "off", spellcheck: "false", maxlength: "13", "aria-describedby": "upn-hint" });
  const upnGroup = h(
    "div",
    { class: "form-group", id: "upn-group", hidden: true },
    h("label", { for: "upn", class: "label" }, "Pupil's UPN"),
    h("p", { class: "hint", id: "upn-hint" }, "Files for the Lost Pupils Database hold one pupil. Enter their 13-character unique pupil number."),
    upnInput,
  );
  const submit = h("button", { type: "submit", class: "button", id: "send", disabled: true }, "Send file");
  const progress = h("progress", { id: "upload-progress", max: "100", value: "0", hidden: true }, "0%");
  const status = h("div", { id: "upload-status", "aria-live": "polite" });
  let parsed = null;

  function check() {
    parsed = null;
    replace(nameError);
    upnGroup.hidden = true;
    const file = fileInput.files[0];
    if (!file) {
      submit.disabled = true;
      return;
    }
    try {
      parsed = naming.checkUploadName(file.name, user.org, "-");
      upnGroup.hidden = !parsed.isLpd;
      submit.disabled = false;
    } catch (error) {
      if (!(error instanceof NamingError)) throw error;
      submit.disabled = true;
      replace(
        nameError,
        h(
          "div",
          { class: "error-summary", role: "alert", "data-testid": "name-error", "data-reason": error.code },
          h("h2", { class: "error-summary-title" }, "This file's name cannot be sent"),
          h("p", { class: "error-message" }, error.message),
          error.suggestion
            ? h("p", {}, "Suggested name: ", h("strong", { class: "suggestion", "data-testid": "suggestion" }, error.suggestion), ". Rename the file on your computer and choose it again.")
            : null,
        ),
      );
    }
  }

  async function send(event) {
    event.preventDefault();
    const file = fileInput.files[0];
    if (!file || !parsed) return;
    const upn = upnInput.value.trim().toUpperCase();
    if (parsed.isLpd && !upn) {
      replace(status, errorSummary(new Error("Enter the pupil's UPN: files for the Lost Pupils Database need one.")));
      upnInput.focus();
      return;
    }
    submit.disabled = true;
    fileInput.disabled = true;
    try {
      replace(status, h("p", {}, "Preparing the upload..."));
      const body = { filename: file.name, size_bytes: file.size };
      if (file.size <= HASH_LIMIT) body.sha256 = await sha256Hex(file);
      if (parsed.isLpd) body.upn = upn;
      const ticket = await api("POST", "/transfers", { body });
      progress.hidden = false;
      replace(status, h("p", {}, `Uploading ${file.name}...`));
      await uploadWithProgress(ticket.upload, file, (fraction) => {
        const percent = Math.round(fraction * 100);
        progress.value = percent;
        progress.textContent = `${percent}%`;
      });
      replace(status, h("p", {}, "Uploaded. Checking the file..."));
      await pollUntilDone(ticket.transfer_id, status);
      // The file is sent (or refused): clear the choice, so a second press cannot send it twice.
      fileInput.value = "";
      parsed = null;
    } catch (error) {
      const extra = error.suggestion ? h("p", {}, "Suggested name: ", h("strong", { class: "suggestion" }, error.suggestion)) : null;
      replace(status, errorSummary(error, extra));
    } finally {
      fileInput.disabled = false;
      submit.disabled = !parsed;
    }
  }

  fileInput.addEventListener("change", check);
  page(
    "Send a file",
    h("p", {}, "Choose the encrypted zip to send. Its name says who it is for, for example 8231234_CTF_8232345_001.zip."),
    h(
      "form",
      { id: "upload-form", novalidate: true, onsubmit: send },
      h(
        "div",
        { class: "form-group" },
        h("label", { for: "file", class: "label" }, "File to send"),
        h("p", { class: "hint", id: "file-hint" }, `The name must start with your ${user.kind === "la" ? "LA code and LLLL" : "LAESTAB"}, ${user.org}.`),
        nameError,
        fileInput,
      ),
      upnGroup,
      submit,
    ),
    progress,
    status,
  );
}

function pollUntilDone(id, status, deadline = Date.now() + 120000) {
  return new Promise((resolve, reject) => {
    async function poll() {
      try {
        const transfer = await api("GET", `/transfers/${encodeURIComponent(id)}`);
        if (transfer.status === "pending_upload" && Date.now() < deadline) {
          pollTimer = setTimeout(poll, 1000);
          return;
        }
        const link = h("a", { href: `/transfers/${id}` }, "See the file's page");
        if (transfer.status === "rejected") {
          replace(
            status,
            h("div", { class: "error-summary", role: "alert", "data-testid": "upload-result", "data-status": "rejected" },
              h("h2", { class: "error-summary-title" }, "The file was rejected"),
              h("p", { "data-testid": "reason" }, transfer.reason_message || transfer.reason),
              h("p", {}, link)),
          );
        } else if (transfer.status === "pending_upload") {
          replace(status, h("p", { "data-testid": "upload-result", "data-status": "pending_upload" }, "The file is still being checked. ", link, " later to see whether it was accepted."));
        } else {
          replace(
            status,
            h("div", { class: "panel", "data-testid": "upload-result", "data-status": transfer.status },
              h("h2", { class: "panel-title" }, "File sent"),
              h("p", {}, `${transfer.filename} is ready for ${transfer.recipient} to download until ${formatDate(transfer.expires_at)}.`),
              h("p", {}, link)),
          );
        }
        resolve(transfer);
      } catch (error) {
        reject(error);
      }
    }
    poll();
  });
}

// ------------------------------------------------------------------------- subscriptions

async function subscriptionsPage() {
  const setting = await api("GET", "/subscriptions/me");
  const result = h("div", { "aria-live": "polite" });
  async function change(method) {
    try {
      if (method === "PUT") await api("PUT", "/subscriptions/me", { body: {} });
      else await api("DELETE", "/subscriptions/me");
      await subscriptionsPage();
    } catch (error) {
      replace(result, errorSummary(error));
    }
  }
  page(
    "Email alerts",
    summaryList([
      ["Organisation", `${setting.organisation_name} (${setting.organisation})`],
      ["Your email", setting.email],
      ["Alerts", h("span", { "data-testid": "subscribed" }, setting.subscribed ? "You get emails about your organisation's files" : "You do not get emails")],
      ["People getting alerts", String(setting.subscriber_count)],
    ]),
    setting.subscribed
      ? h("button", { type: "button", class: "button button-secondary", id: "unsubscribe", onclick: () => change("DELETE") }, "Stop emails")
      : h("button", { type: "button", class: "button", id: "subscribe", onclick: () => change("PUT") }, "Get emails"),
    result,
  );
}

// ------------------------------------------------------------------------- LA and DfE

const METRICS = [
  ["sent", "Sent"], ["received", "Received"], ["downloaded", "Downloaded"], ["not_downloaded", "Not yet downloaded"],
  ["rejected", "Rejected"], ["expired", "Expired"], ["lost_pupils", "Lost pupils"],
];

function isoDate(date) {
  return date.toISOString().slice(0, 10);
}

function field(id, label, attrs = {}) {
  return h("div", { class: "form-group form-group-inline" }, h("label", { for: id, class: "label" }, label), h("input", { id, name: id, class: "input", ...attrs }));
}

async function reportsPage() {
  const today = new Date();
  const yearStart = new Date(Date.UTC(today.getUTCFullYear(), 0, 1));
  const results = h("div", { id: "report-results", "aria-live": "polite" });
  const groupBy = h("select", { id: "group_by", name: "group_by", class: "select" }, h("option", { value: "month" }, "Month"), h("option", { value: "school" }, "School"));
  const form = h(
    "form",
    { class: "filters", novalidate: true },
    user.kind === "dfe" ? field("la", "LA code (leave empty for England)", { inputmode: "numeric", maxlength: "3", pattern: "[0-9]{3}" }) : null,
    field("from", "From", { type: "date", value: isoDate(yearStart) }),
    field("to", "To", { type: "date", value: isoDate(today) }),
    h("div", { class: "form-group form-group-inline" }, h("label", { for: "group_by", class: "label" }, "Group by"), groupBy),
    h("button", { type: "submit", class: "button" }, "Show report"),
    h("button", { type: "button", class: "button button-secondary", id: "csv", onclick: () => downloadCsv() }, "Download CSV"),
  );

  function query(format) {
    const data = new FormData(form);
    return { la: user.kind === "la" ? user.la : data.get("la"), from: data.get("from"), to: data.get("to"), group_by: data.get("group_by"), format };
  }

  async function show(event) {
    if (event) event.preventDefault();
    replace(results, h("p", {}, "Loading..."));
    try {
      const report = await api("GET", "/reports/transfers", { query: query("json") });
      renderReport(report, results);
    } catch (error) {
      replace(results, errorSummary(error));
    }
  }

  async function downloadCsv() {
    try {
      const q = query("csv");
      const response = await api("GET", "/reports/transfers", { query: q, raw: true });
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const link = h("a", { href: url, download: `s2s-transfers-${q.la || "england"}-${q.from}-${q.to}.csv`, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (error) {
      replace(results, errorSummary(error));
    }
  }

  form.addEventListener("submit", show);
  page(user.kind === "la" ? `Transfers report for LA ${user.la}` : "Transfers report", form, results);
  await show();
}

function renderReport(report, container) {
  const label = report.group_by === "month" ? "Month" : "School";
  const key = (row) => (report.group_by === "month" ? row.month : row.school_name ? `${row.school_name} (${row.school})` : row.school);
  const rows = report.rows.map((row) => [key(row), ...METRICS.map(([name]) => String(row[name]))]);
  rows.push([h("strong", {}, "Total"), ...METRICS.map(([name]) => h("strong", {}, String(report.totals[name])))]);
  replace(
    container,
    h("p", {}, `${report.scope === "national" ? "England" : `LA ${report.la}`}, ${formatDate(report.date_from)} to ${formatDate(report.date_to)}.`),
    report.rows.length ? barChart(report.rows.map((row) => [key(row), row.sent, row.received]), "Files sent and received") : h("p", { class: "empty" }, "No files in this period."),
    table(`Transfers by ${label.toLowerCase()}`, [label, ...METRICS.map(([, text]) => text)], rows, { "data-testid": "report-table" }),
  );
}

/** A grouped bar chart (sent, received) drawn as SVG with attributes and classes only: the CSP
 * forbids inline styles. The table beside it carries the same numbers for screen readers. */
function barChart(series, title) {
  const barWidth = 18;
  const gap = 28; // room for a label such as 2026-09 under each pair of bars
  const height = 160;
  const top = 10;
  const bottom = 40;
  const left = 30;
  const max = Math.max(1, ...series.flatMap(([, a, b]) => [a, b]));
  const width = left + series.length * (2 * barWidth + gap) + gap;
  const scale = (value) => (value / max) * height;
  const chart = s("svg", {
    class: "chart", viewBox: `0 0 ${width} ${height + top + bottom}`, width, height: height + top + bottom,
    role: "img", "aria-label": `${title}: chart of the table below`, "data-testid": "report-chart",
  });
  chart.append(s("title", {}, title));
  chart.append(s("line", { x1: left, y1: top + height, x2: width, y2: top + height, class: "chart-axis" }));
  chart.append(s("text", { x: left - 4, y: top + 8, class: "chart-label", "text-anchor": "end" }, String(max)));
  chart.append(s("text", { x: left - 4, y: top + height, class: "chart-label", "text-anchor": "end" }, "0"));
  series.forEach(([name, sent, received], index) => {
    const x = left + gap + index * (2 * barWidth + gap);
    chart.append(
      s("rect", { x, y: top + height - scale(sent), width: barWidth, height: scale(sent), class: "chart-bar chart-bar-sent" }, s("title", {}, `${name}: ${sent} sent`)),
      s("rect", { x: x + barWidth, y: top + height - scale(received), width: barWidth, height: scale(received), class: "chart-bar chart-bar-received" }, s("title", {}, `${name}: ${received} received`)),
      s("text", { x: x + barWidth, y: top + height + 14, class: "chart-label", "text-anchor": "middle" }, String(name).slice(0, 10)),
    );
  });
  return h(
    "figure",
    { class: "chart-figure" },
    chart,
    h("figcaption", {}, h("span", { class: "legend legend-sent" }, "Sent"), " ", h("span", { class: "legend legend-received" }, "Received")),
  );
}

async function undownloadedPage() {
  const results = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "filters", novalidate: true },
    user.kind === "dfe" ? field("la", "LA code", { inputmode: "numeric", maxlength: "3", required: true }) : null,
    field("older_than_days", "Older than (days)", { type: "number", min: "0", value: "7" }),
    h("button", { type: "submit", class: "button" }, "Show files"),
  );
  async function show(event) {
    if (event) event.preventDefault();
    const data = new FormData(form);
    const la = user.kind === "la" ? user.la : data.get("la");
    if (!la) {
      replace(results, h("p", {}, "Enter an LA code."));
      return;
    }
    try {
      const report = await api("GET", "/reports/undownloaded", { query: { la, older_than_days: data.get("older_than_days") } });
      const rows = report.items.map((item) => [
        h("a", { href: `/transfers/${item.transfer_id}` }, item.filename),
        item.recipient_name ? `${item.recipient_name} (${item.recipient})` : item.recipient,
        item.sender_name ? `${item.sender_name} (${item.sender})` : item.sender,
        `${item.age_days} days`,
        formatDate(item.expires_at),
        item.no_subscribers ? h("strong", { class: "tag tag-rejected" }, "Nobody gets emails") : "",
      ]);
      replace(
        results,
        rows.length
          ? table(`Files not downloaded after ${report.older_than_days} days`, ["File", "For", "From", "Waiting", "Expires", "Alerts"], rows, { "data-testid": "undownloaded-table" })
          : h("p", { class: "empty" }, "Every file older than that has been downloaded."),
      );
    } catch (error) {
      replace(results, errorSummary(error));
    }
  }
  form.addEventListener("submit", show);
  page("Files not downloaded", h("p", {}, "Files waiting for your schools, oldest first. Contact a school whose files wait too long."), form, results);
  if (user.kind === "la") await show();
}

async function lostPupilsPage() {
  const results = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "filters", novalidate: true },
    field("upn", "Pupil's UPN", { autocomplete: "off", spellcheck: "false", maxlength: "13", class: "input input-width-20" }),
    h("button", { type: "submit", class: "button" }, "Search"),
  );
  async function search(event) {
    if (event) event.preventDefault();
    const upn = String(new FormData(form).get("upn") || "").trim().toUpperCase();
    if (!upn) {
      replace(results, errorSummary(new Error("Enter the pupil's UPN.")));
      return;
    }
    try {
      const list = await api("GET", "/lost-pupils", { query: { upn } });
      const rows = list.items.map((item) => [
        h("a", { href: `/transfers/${item.transfer_id}` }, item.filename),
        `${item.source_name || ""} (${item.source})`,
        statusTag(item.status),
        formatDate(item.available_at || item.created_at),
        item.claimable ? claimForm(item, search) : "",
      ]);
      replace(
        results,
        rows.length
          ? table("Lost Pupils Database files for this UPN", ["File", "From", "Status", "Sent", "Claim for a school"], rows, { "data-testid": "lpd-table" })
          : h("p", { class: "empty" }, "No Lost Pupils Database files for this UPN."),
      );
    } catch (error) {
      replace(results, errorSummary(error));
    }
  }
  form.addEventListener("submit", search);
  page("Lost pupils", h("p", {}, "Find files sent to the Lost Pupils Database for a pupil, and send one on to the school the pupil joined."), form, results);
}

function claimForm(item, refresh) {
  const id = `dest-${item.transfer_id}`;
  const message = h("span", { "aria-live": "polite" });
  return h(
    "form",
    {
      class: "claim-form",
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        const destination = String(new FormData(event.currentTarget).get("destination") || "").trim();
        try {
          await api("POST", `/lost-pupils/${encodeURIComponent(item.transfer_id)}/claim`, { body: { destination } });
          await refresh();
        } catch (error) {
          replace(message, h("span", { class: "error-message" }, error.message));
        }
      },
    },
    h("label", { for: id, class: "label label-small" }, "School LAESTAB"),
    h("input", { id, name: "destination", class: "input input-width-10", inputmode: "numeric", maxlength: "7" }),
    h("button", { type: "submit", class: "button button-small" }, "Claim"),
    message,
  );
}

// ------------------------------------------------------------------------- start

async function start() {
  try {
    const response = await fetch("/config.json");
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    config = await response.json();
  } catch {
    page("Sorry, there is a problem", h("p", {}, "The service's settings could not be loaded. Try again later."));
    return;
  }
  await route();
}

start();
