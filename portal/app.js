// The S2S portal: a single page app with one thing per page, routed on location.pathname so
// that the links in emails (/transfers/<id>) open the right page. Plain ES modules and GOV.UK
// Frontend's precompiled files, no build step.
//
// Nothing here downloads by itself: a transfer's page asks the API for a short-lived link only
// when the Download button is pressed, because mail scanners and previews open links in emails.

import { api, ApiError, configureApi, StaleNavigation, uploadWithProgress } from "./api.js";
import { currentUser, finishSignIn, signOut, startSignIn } from "./auth.js";
import {
  errorSummary, formatDate, formatDateTime, formatSize, h, hidden, initComponents, notificationBanner, p, replace, s,
  startGovukFrontend, summaryList, table, tag, when,
} from "./dom.js";
import { historyRows, mayShowPeople, orgLabel } from "./history.js";
import { loadNaming, NamingError } from "./naming.js";
import { ulnBatchesPage, ulnBatchPage } from "./uln-batches.js";
import { composePage, configureMessages, messageInbox, sentMessages, threadPage, transferMessagesSection } from "./messages.js";

const SERVICE = "Send files school to school";

export const STATUS = {
  pending_upload: ["Waiting for upload", "grey"],
  available: ["Ready to download", "blue"],
  downloaded: ["Downloaded", "green"],
  withdrawn: ["Withdrawn by the sender", "grey"],
  removed: ["Removed", "grey"],
  rejected: ["Rejected", "red"],
  expired: ["Expired", "orange"],
};
const LIVE = ["pending_upload", "available", "downloaded"];

const main = document.getElementById("main-content");
const serviceNavigation = document.getElementById("service-navigation");
const signedIn = document.getElementById("signed-in");
let config = null;
let user = null;
let pollTimer = null;

// ------------------------------------------------------------------------- routing

const ROUTES = [
  [/^\/$/, home],
  [/^\/callback$/, callback],
  [/^\/sign-out$/, signOutPage],
  [/^\/inbox$/, () => transferList("inbox")],
  [/^\/sent$/, () => transferList("outbox")],
  [/^\/la-files$/, () => transferList("la")],
  [/^\/transfers\/([A-Za-z0-9_-]{1,100})$/, transferPage],
  [/^\/upload$/, uploadPage],
  [/^\/subscriptions$/, subscriptionsPage],
  [/^\/reports$/, reportsPage],
  [/^\/undownloaded$/, undownloadedPage],
  [/^\/lost-pupils$/, lostPupilsPage],
  [/^\/uln\/batches$/, () => ulnBatchesPage(ulnUi())],
  [/^\/uln\/batches\/([A-Za-z0-9_-]{1,100})$/, (id) => ulnBatchPage(ulnUi(), id)],
  [/^\/lrs-registration$/, lrsRegistrationPage],
  [/^\/messages$/, messageInbox],
  [/^\/messages\/sent$/, sentMessages],
  [/^\/messages\/new$/, composePage],
  [/^\/messages\/([A-Za-z0-9_-]{1,100})$/, (id) => threadPage(id)],
  [/^\/find-a-school$/, findASchoolPage],
];

/** What the ULN batch pages (uln-batches.js) draw with. */
function ulnUi() {
  return {
    page,
    pageWithCaption,
    showErrorIn,
    navigate,
    initComponents,
    poll: (again, ms) => {
      pollTimer = setTimeout(() => again().catch(showError), ms);
    },
  };
}

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
  "/uln/batches": ["school", "la"],
  "/lrs-registration": ["school", "la"],
  "/messages": ["school", "la"],
  "/messages/sent": ["school", "la"],
  "/messages/new": ["school", "la"],
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
  if (!["/callback", "/", "/sign-out"].includes(path) && !user) return signInPage(path);
  const allowed = ALLOWED[path];
  if (allowed && !allowed.includes(user.kind)) return navigate("/", { replaceState: true });
  try {
    for (const [pattern, handler] of ROUTES) {
      const match = pattern.exec(path);
      if (match) {
        try {
          await handler(...match.slice(1));
        } catch (error) {
          showError(error);
        }
        return;
      }
    }
    notFound();
  } finally {
    firstLoad = false;
  }
}

configureMessages({ page, pageWithCaption, navigate, user: () => user });

function notFound() {
  page("Page not found", p("If you typed the web address, check it is correct."), p(h("a", { href: "/", class: "govuk-link" }, "Go to the start")));
}

// On the page's first load focus stays at the top, so that Tab reaches the skip link first.
let firstLoad = true;

/** Render a page: one h1, which takes focus after an in-app navigation (so screen readers
 * announce the new page), then its content; GOV.UK Frontend starts on what was drawn. An error
 * summary on the page takes focus instead (GOV.UK Frontend moves it there). */
function page(title, ...content) {
  return pageWithCaption(null, title, ...content);
}

function pageWithCaption(caption, title, ...content) {
  document.title = `${title} - ${SERVICE} - GOV.UK`;
  const heading = h("h1", { class: "govuk-heading-l", tabindex: "-1" }, caption ? h("span", { class: "govuk-caption-l" }, caption) : null, title);
  replace(main, heading, ...content);
  if (!firstLoad) heading.focus();
  initComponents(main);
}

function showError(error) {
  if (error instanceof StaleNavigation) return; // the page it was for is gone
  if (error instanceof ApiError && error.status === 401) return signInPage(location.pathname);
  const thing = location.pathname.startsWith("/messages/") ? "Message" : "File";
  const title = error instanceof ApiError && error.status === 404
    ? `${thing} not found`
    : error instanceof ApiError && error.status === 410 && thing === "Message"
      ? "This message has expired"
      : "Sorry, there is a problem";
  page(title, errorSummary([[error.message, null]]));
}

/** An error shown inside a page's result area (after a button press): the summary takes focus. */
function showErrorIn(container, error, extra = null) {
  replace(container, errorSummary([[error.message, null]], { extra }));
  initComponents(container);
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

const MENUS = {
  school: [
    ["/inbox", "Inbox"], ["/sent", "Sent files"], ["/upload", "Send a file"], ["/messages", "Messages"],
    ["/find-a-school", "Find a school"], ["/uln/batches", "ULN batches"], ["/subscriptions", "Email alerts"],
    ["/lrs-registration", "LRS registration"],
  ],
  la: [
    ["/inbox", "Inbox"], ["/sent", "Sent files"], ["/upload", "Send a file"], ["/messages", "Messages"], ["/la-files", "Your schools' files"],
    ["/reports", "Reports"], ["/undownloaded", "Not downloaded"], ["/lost-pupils", "Lost pupils"],
    ["/find-a-school", "Find a school"], ["/uln/batches", "ULN batches"], ["/subscriptions", "Email alerts"],
    ["/lrs-registration", "LRS registration"],
  ],
  dfe: [["/reports", "Reports"], ["/undownloaded", "Not downloaded"], ["/find-a-school", "Find a school"]],
};

/** GOV.UK's service navigation: the service name, the pages this user may open, and Sign out. */
function renderHeader() {
  const links = user ? [...(MENUS[user.kind] || []), ["/sign-out", "Sign out"]] : [];
  const items = links.map(([href, text]) => {
    const current = location.pathname === href;
    return h(
      "li",
      { class: current ? "govuk-service-navigation__item govuk-service-navigation__item--active" : "govuk-service-navigation__item" },
      h(
        "a",
        { class: "govuk-service-navigation__link", href, "aria-current": current ? "page" : null },
        current ? h("strong", { class: "govuk-service-navigation__active-fallback" }, text) : text,
      ),
    );
  });
  const section = h(
    "section",
    { "aria-label": "Service information", class: "govuk-service-navigation", "data-module": "govuk-service-navigation" },
    h(
      "div",
      { class: "govuk-width-container" },
      h(
        "div",
        { class: "govuk-service-navigation__container" },
        h("span", { class: "govuk-service-navigation__service-name" }, h("a", { href: "/", class: "govuk-service-navigation__link" }, SERVICE)),
        items.length
          ? h(
              "nav",
              { "aria-label": "Menu", class: "govuk-service-navigation__wrapper" },
              h("button", { type: "button", class: "govuk-service-navigation__toggle govuk-js-service-navigation-toggle", "aria-controls": "navigation", hidden: true, "aria-hidden": "true" }, "Menu"),
              h("ul", { class: "govuk-service-navigation__list", id: "navigation" }, items),
            )
          : null,
      ),
    ),
  );
  replace(serviceNavigation, section);
  initComponents(serviceNavigation);
  replace(
    signedIn,
    user
      ? h(
          "p",
          { class: "govuk-body-s app-signed-in__text" },
          "Signed in as ",
          h("strong", {}, user.email || "you"),
          " for ",
          h("span", { "data-testid": "org-name" }, user.name || user.org),
          user.org ? ` (${user.org})` : "",
        )
      : null,
  );
}

function signInPage(returnTo = "/") {
  page(
    SERVICE,
    h("p", { class: "govuk-body-l" }, "Send and receive pupil files (CTF, ATF and admissions files) securely between schools and local authorities."),
    p("Sign in with your DfE Sign-in account to see your files."),
    h("button", { type: "button", class: "govuk-button govuk-button--start", "data-module": "govuk-button", id: "sign-in", onclick: () => startSignIn(config, returnTo) }, "Sign in"),
  );
}

function signOutPage() {
  signOut();
  user = null;
  renderHeader();
  page("You have signed out", p("Your files stay in the service until they expire."), h("button", { type: "button", class: "govuk-button", "data-module": "govuk-button", onclick: () => startSignIn(config, "/") }, "Sign in"));
}

async function callback() {
  page("Signing you in", p("Please wait."));
  let next;
  try {
    next = await finishSignIn(config);
  } catch (error) {
    page("Sign-in did not work", errorSummary([[error.message, null]]), h("button", { type: "button", class: "govuk-button", onclick: () => startSignIn(config, "/") }, "Sign in again"));
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
    return page("You cannot use this service", p("Your sign-in is not for a school, a local authority or the Department for Education."));
  }
  return navigate("/inbox", { replaceState: true });
}

// ------------------------------------------------------------------------- transfers

function statusTag(status) {
  const [text, colour] = STATUS[status] || [status, "grey"];
  return tag(text, colour, { "data-status": status });
}

/** What a list row says beside the status: until when a live file can be downloaded, or why a
 * rejected one was refused (a rejected file has no expiry anyone needs). */
function rowDetails(item) {
  if (item.status === "rejected") return h("span", { "data-testid": "row-reason" }, item.reason_message || item.reason || "");
  if (item.status === "pending_upload" || item.status === "available") return `Until ${formatDate(item.expires_at)}`;
  return "";
}

function party(code, name) {
  return name && name !== code ? `${name} (${code})` : code;
}

async function transferList(box) {
  const titles = { inbox: "Inbox", outbox: "Sent files", la: "Your schools' files" };
  const captions = { inbox: "Files sent to you", outbox: "Files you have sent", la: "Files to and from your schools" };
  page(titles[box], p("Loading..."));
  const items = [];
  let cursor = null;
  do {
    const result = await api("GET", "/transfers", { query: { box, cursor, limit: 100 } });
    items.push(...result.items);
    cursor = result.next_cursor;
  } while (cursor && items.length < 500);
  const who = box === "inbox" ? "From" : box === "outbox" ? "To" : "From and to";
  const rows = items.map((item) => [
    h("a", { href: `/transfers/${item.transfer_id}`, class: "govuk-link", "data-testid": "file-link" }, item.filename),
    box === "inbox"
      ? party(item.source, item.source_name)
      : box === "outbox"
        ? party(item.recipient, item.recipient_name)
        : `${party(item.source, item.source_name)} to ${party(item.recipient, item.recipient_name)}`,
    statusTag(item.status),
    when(item.available_at || item.created_at),
    rowDetails(item),
  ]);
  const empty = { inbox: "No files have been sent to you.", outbox: "You have not sent any files.", la: "No files to or from your schools." }[box];
  page(
    titles[box],
    box === "la" ? null : h("a", { href: "/upload", class: "govuk-button", "data-module": "govuk-button", draggable: "false", role: "button" }, "Send a file"),
    items.length
      ? table(captions[box], ["File", who, "Status", "Sent", "Details"], rows, { captionSize: "hidden", "data-testid": "transfer-table" })
      : p(h("span", { "data-testid": "empty" }, empty)),
  );
}

async function transferPage(id, banner = null) {
  const transfer = await api("GET", `/transfers/${encodeURIComponent(id)}`);
  const result = h("div", { id: "download-result" });
  const actions = h("div", { class: "govuk-button-group" });
  if (transfer.can_download) {
    actions.append(
      h("button", { type: "button", class: "govuk-button", "data-module": "govuk-button", id: "download", onclick: (event) => download(transfer, event.currentTarget, result) }, "Download"),
    );
  }
  if (transfer.direction !== "received" && transfer.status === "available") {
    actions.append(
      h("button", { type: "button", class: "govuk-button govuk-button--warning", "data-module": "govuk-button", onclick: () => withdraw(transfer, result) }, "Withdraw this file"),
    );
  }
  const names = nameBook(transfer);
  const receipts = (transfer.downloads || []).map((receipt) => [
    when(receipt.at),
    mayShowPeople(user, receipt.organisation) && receipt.user
      ? `${receipt.user === user.sub ? "You" : receipt.user}, ${orgLabel(receipt.organisation, names)}`
      : orgLabel(receipt.organisation, names),
  ]);
  const history = historyRows(transfer, user, names).map((row) => [when(row.at), row.what, row.who]);
  const rejected = transfer.status === "rejected";
  const messages = rejected || transfer.lost_pupil ? null : await transferMessagesSection(transfer, user);
  const caption = transfer.direction === "received" ? "File sent to you" : "File you sent";
  pageWithCaption(
    caption,
    transfer.filename,
    banner,
    rejected
      ? notificationBanner({ title: "Rejected", heading: "This file was rejected", body: p(h("span", { "data-testid": "reason" }, transfer.reason_message || transfer.reason)), attrs: { "data-testid": "rejected-banner" } })
      : null,
    summaryList([
      ["Status", statusTag(transfer.status), "status"],
      ["From", party(transfer.source, transfer.source_name)],
      ["To", transfer.lost_pupil ? `Lost Pupils Database (${transfer.destination})` : party(transfer.recipient, transfer.recipient_name || names[transfer.recipient])],
      ["Type", transfer.file_type],
      ["Size", formatSize(transfer.size_bytes)],
      ["UPN", transfer.upn],
      ["SHA-256", transfer.sha256 ? h("code", { class: "app-hash" }, transfer.sha256) : null],
      [transfer.available_at ? "Sent" : "Started", formatDateTime(transfer.available_at || transfer.created_at)],
      ["First downloaded", formatDateTime(transfer.downloaded_at)],
      LIVE.includes(transfer.status) ? ["Available until", formatDate(transfer.expires_at), "expires"] : null,
      transfer.status === "expired" ? ["Expired on", formatDate(transfer.expires_at)] : null,
    ].filter(Boolean), { "data-testid": "transfer-summary" }),
    actions.childElementCount ? actions : null,
    result,
    rejected
      ? null
      : receipts.length
        ? table("Downloads", ["When", "Who"], receipts, { "data-testid": "receipts" })
        : [h("h2", { class: "govuk-heading-m" }, "Downloads"), p(h("span", { "data-testid": "no-downloads" }, "Nobody has downloaded this file yet."))],
    history.length ? table("History", ["When", "What happened", "Who"], history, { "data-testid": "audit" }) : null,
    messages,
  );
}

/** Display names for the organisations a transfer mentions: the API names the sender, and may
 * name the recipient; the signed-in user's own organisation is named by their token. */
function nameBook(transfer) {
  const names = { ...(transfer.names || {}) };
  if (transfer.source_name) names[transfer.source] = transfer.source_name;
  if (transfer.recipient_name) names[transfer.recipient] = transfer.recipient_name;
  if (user && user.org && user.name) names[user.org] = user.name;
  return names;
}

async function download(transfer, button, result) {
  button.disabled = true;
  try {
    // A fresh link, valid for minutes, asked for only now that a person has pressed the button.
    const link = await api("POST", `/transfers/${encodeURIComponent(transfer.transfer_id)}/download`);
    location.assign(link.url);
  } catch (error) {
    button.disabled = false;
    showErrorIn(result, error);
    return;
  }
  // The download is recorded: draw the page again, so its status and receipts say so.
  const banner = notificationBanner({
    success: true,
    heading: "Your download has started",
    body: p("Check your downloads folder. The file's history below records the download."),
    attrs: { "data-testid": "download-started" },
  });
  await transferPage(transfer.transfer_id, banner);
}

async function withdraw(transfer, result) {
  if (!window.confirm(`Withdraw ${transfer.filename}? The recipient will no longer be able to download it.`)) return;
  try {
    await api("DELETE", `/transfers/${encodeURIComponent(transfer.transfer_id)}`);
  } catch (error) {
    showErrorIn(result, error);
    return;
  }
  await transferPage(transfer.transfer_id, notificationBanner({ success: true, heading: "The file was withdrawn", body: p("The recipient can no longer download it.") }));
}

// ------------------------------------------------------------------------- upload

async function sha256Hex(file) {
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const HASH_LIMIT = 100 * 1024 * 1024; // hashing reads the whole file into memory

async function uploadPage() {
  const naming = await loadNaming();
  const fileInput = h("input", { type: "file", id: "file", name: "file", class: "govuk-file-upload", accept: ".zip,application/zip", "aria-describedby": "file-hint" });
  const fileError = h("p", { id: "file-error", class: "govuk-error-message", hidden: true });
  const suggestion = h("p", { class: "govuk-body govuk-!-margin-top-3", id: "file-suggestion", hidden: true });
  // What the establishment directory says of the destination, as soon as the file is chosen.
  const destinationNote = h("div", { id: "destination-note", "aria-live": "polite" });
  const fileGroup = h(
    "div",
    { class: "govuk-form-group", id: "file-group" },
    h("label", { for: "file", class: "govuk-label govuk-label--m" }, "File to send"),
    h("div", { class: "govuk-hint", id: "file-hint" }, `Choose the encrypted zip. Its name says who it is for and must start with your ${user.kind === "la" ? "LA code and LLLL" : "LAESTAB"}, ${user.org}: for example ${user.org}_CTF_8232345_001.zip.`),
    fileError,
    // GOV.UK Frontend's file upload, without its JavaScript enhancement: the enhanced button's
    // name leaves out its own visible text (axe: label-content-name-mismatch, WCAG 2.5.3).
    fileInput,
    suggestion,
    destinationNote,
  );
  const upnInput = h("input", { type: "text", id: "upn", name: "upn", class: "govuk-input govuk-input--width-20", autocomplete: "off", spellcheck: "false", maxlength: "13", "aria-describedby": "upn-hint" });
  const upnError = h("p", { id: "upn-error", class: "govuk-error-message", hidden: true });
  const upnGroup = h(
    "div",
    { class: "govuk-form-group", id: "upn-group", hidden: true },
    h("label", { for: "upn", class: "govuk-label govuk-label--m" }, "Pupil's UPN"),
    h("div", { class: "govuk-hint", id: "upn-hint" }, "Files for the Lost Pupils Database hold one pupil. Enter their 13-character unique pupil number."),
    upnError,
    upnInput,
  );
  const submit = h("button", { type: "submit", class: "govuk-button", "data-module": "govuk-button", id: "send" }, "Send file");
  const summaryArea = h("div", { id: "upload-errors" });
  const progress = h("div", { id: "upload-progress", hidden: true });
  const status = h("div", { id: "upload-status" });
  // Read by screen readers at each step, not at every percent.
  const announcer = h("p", { class: "govuk-visually-hidden", id: "upload-announcer", "aria-live": "polite" });
  let parsed = null;
  let lastNamingError = null;

  function fieldError(group, input, message, errorElement, describedBy) {
    group.classList.toggle("govuk-form-group--error", Boolean(message));
    input.classList.toggle(input === fileInput ? "govuk-file-upload--error" : "govuk-input--error", Boolean(message));
    errorElement.hidden = !message;
    replace(errorElement, message ? [hidden("Error: "), message] : []);
    input.setAttribute("aria-describedby", message ? `${describedBy} ${errorElement.id}` : describedBy);
  }

  /** Check the chosen file's name as soon as it is chosen: what is wrong, and the fix. */
  function check() {
    parsed = null;
    lastNamingError = null;
    replace(summaryArea);
    fieldError(fileGroup, fileInput, null, fileError, "file-hint");
    suggestion.hidden = true;
    upnGroup.hidden = true;
    replace(destinationNote);
    const file = fileInput.files[0];
    if (!file) return;
    try {
      parsed = naming.checkUploadName(file.name, user.org, "-");
      upnGroup.hidden = !parsed.isLpd;
      if (parsed.destKind === "school") lookUpDestination(file, parsed);
    } catch (error) {
      if (!(error instanceof NamingError)) throw error;
      lastNamingError = error;
      fileError.dataset.reason = error.code;
      fileError.dataset.testid = "name-error";
      fileError.setAttribute("data-testid", "name-error");
      fieldError(fileGroup, fileInput, error.message, fileError, "file-hint");
      if (error.suggestion) {
        suggestion.hidden = false;
        replace(suggestion, "Suggested name: ", h("strong", { "data-testid": "suggestion" }, error.suggestion), ". Rename the file on your computer and choose it again.");
      }
    }
  }

  /** Ask the directory about the school the file is for: a closed school's file is refused here,
   * with the name for its successor; an unknown school is a warning (the service says the same). */
  async function lookUpDestination(file, chosen) {
    let answer;
    try {
      answer = await api("GET", "/directory/establishments", { query: { q: chosen.destination, limit: 1 } });
    } catch (error) {
      if (error instanceof StaleNavigation) return;
      return; // the service checks again when the file is sent
    }
    if (fileInput.files[0] !== file || parsed !== chosen || !answer.directory) return;
    const school = answer.items.find((item) => item.laestab === chosen.destination);
    if (!school) {
      replace(
        destinationNote,
        warningText(
          `The school directory does not know ${chosen.destination}. A school that opened recently may not be listed yet; otherwise check the LAESTAB with the school or `,
          h("a", { href: "/find-a-school", class: "govuk-link" }, "find the school"),
          ".",
        ),
      );
      destinationNote.dataset.state = "unknown";
      return;
    }
    if (school.open) {
      replace(destinationNote, p("For ", h("strong", { "data-testid": "destination-name" }, school.name), ` (${school.la_name || school.la}).`));
      destinationNote.dataset.state = "open";
      return;
    }
    const renamed = school.successor ? renamedFor(chosen, school.successor.laestab) : null;
    let message = `${school.name} (${chosen.destination}) has closed, so nobody there will collect this file.`;
    if (school.successor) message += ` Its successor is ${school.successor.name} (${school.successor.laestab}).`;
    else message += " Check the pupil's new school and its LAESTAB.";
    parsed = null;
    lastNamingError = { message, suggestion: renamed, code: "closed_destination" };
    fileError.dataset.reason = "closed_destination";
    fileError.setAttribute("data-testid", "name-error");
    fieldError(fileGroup, fileInput, message, fileError, "file-hint");
    destinationNote.dataset.state = "closed";
    if (renamed) {
      suggestion.hidden = false;
      replace(suggestion, "Suggested name: ", h("strong", { "data-testid": "suggestion" }, renamed), ". Rename the file on your computer and choose it again.");
    }
  }

  function refuse(items) {
    replace(summaryArea, errorSummary(items, { attrs: { "data-testid": "upload-error-summary" } }));
    initComponents(summaryArea);
  }

  function showProgress(file, state, detail) {
    progress.hidden = false;
    const [text, colour] = {
      preparing: ["Preparing", "grey"],
      uploading: [detail, "blue"],
      checking: ["Checking", "yellow"],
      accepted: ["Sent", "green"],
      rejected: ["Rejected", "red"],
      waiting: ["Still being checked", "yellow"],
      failed: ["Not sent", "red"],
    }[state];
    replace(
      progress,
      h("h2", { class: "govuk-heading-m" }, "Your file"),
      summaryList([
        ["File", file.name],
        ["Size", formatSize(file.size)],
        ["Progress", tag(text, colour, { "data-testid": "upload-state", "data-state": state, "data-percent": state === "uploading" ? detail.replace(/\D/g, "") : null })],
      ]),
    );
  }

  async function send(event) {
    event.preventDefault();
    const file = fileInput.files[0];
    if (!file) {
      fieldError(fileGroup, fileInput, "Choose the file to send", fileError, "file-hint");
      refuse([["Choose the file to send", "#file"]]);
      return;
    }
    if (!parsed) {
      refuse([[lastNamingError ? lastNamingError.message : "Choose a file with a name that follows the naming rules", "#file"]]);
      return;
    }
    const upn = upnInput.value.trim().toUpperCase();
    fieldError(upnGroup, upnInput, null, upnError, "upn-hint");
    if (parsed.isLpd && !upn) {
      fieldError(upnGroup, upnInput, "Enter the pupil's UPN", upnError, "upn-hint");
      refuse([["Enter the pupil's UPN: files for the Lost Pupils Database need one", "#upn"]]);
      return;
    }
    replace(summaryArea);
    replace(status);
    submit.disabled = true;
    fileInput.disabled = true;
    let milestone = -1;
    try {
      showProgress(file, "preparing");
      announcer.textContent = `Preparing ${file.name}`;
      const body = { filename: file.name, size_bytes: file.size };
      if (file.size <= HASH_LIMIT) body.sha256 = await sha256Hex(file);
      if (parsed.isLpd) body.upn = upn;
      const ticket = await api("POST", "/transfers", { body });
      if ((ticket.warnings || []).includes("unknown_destination") && !destinationNote.dataset.state) {
        replace(destinationNote, warningText(`The school directory does not know ${ticket.destination}: check the LAESTAB if the file is not collected.`));
      }
      await uploadWithProgress(ticket.upload, file, (fraction) => {
        const percent = Math.round(fraction * 100);
        showProgress(file, "uploading", `Uploading ${percent}%`);
        const step = Math.floor(percent / 25);
        if (step > milestone) {
          milestone = step;
          announcer.textContent = `Uploading ${file.name}: ${percent}%`;
        }
      });
      showProgress(file, "checking");
      announcer.textContent = "Uploaded. Checking the file.";
      const transfer = await pollUntilDone(ticket.transfer_id);
      showOutcome(file, transfer);
      // The file is sent (or refused): clear the choice, so a second press cannot send it twice.
      fileInput.value = "";
      fileInput.dispatchEvent(new Event("change"));
      parsed = null;
    } catch (error) {
      if (error instanceof StaleNavigation) throw error;
      showProgress(file, "failed");
      announcer.textContent = "";
      const items = [[error.message, error.code === "bad_upn" ? "#upn" : "#file"]];
      const extra = error.suggestion ? p("Suggested name: ", h("strong", { "data-testid": "suggestion" }, error.suggestion)) : null;
      replace(summaryArea, errorSummary(items, { extra, attrs: { "data-testid": "upload-error-summary", "data-code": error.code || "" } }));
      initComponents(summaryArea);
    } finally {
      fileInput.disabled = false;
      submit.disabled = false;
    }
  }

  function showOutcome(file, transfer) {
    const link = h("a", { href: `/transfers/${transfer.transfer_id}`, class: "govuk-link govuk-notification-banner__link" }, "See the file's page");
    if (transfer.status === "rejected") {
      showProgress(file, "rejected");
      replace(
        status,
        h(
          "div",
          { "data-testid": "upload-result", "data-status": "rejected" },
          errorSummary([[transfer.reason_message || transfer.reason, "#file"]], {
            title: "The file was rejected",
            extra: p(h("span", { "data-testid": "reason" }, transfer.reason_message || transfer.reason), " ", h("a", { href: `/transfers/${transfer.transfer_id}`, class: "govuk-link" }, "See the file's page")),
          }),
        ),
      );
    } else if (transfer.status === "pending_upload") {
      showProgress(file, "waiting");
      replace(status, notificationBanner({ heading: "The file is still being checked", body: p(link, " later to see whether it was accepted."), attrs: { "data-testid": "upload-result", "data-status": "pending_upload" } }));
    } else {
      showProgress(file, "accepted");
      replace(
        status,
        notificationBanner({
          success: true,
          heading: "File sent",
          body: p(`${transfer.filename} is ready for ${party(transfer.recipient, transfer.recipient_name)} to download until ${formatDate(transfer.expires_at)}. `, link),
          attrs: { "data-testid": "upload-result", "data-status": transfer.status },
        }),
      );
    }
    announcer.textContent = "";
    initComponents(status);
  }

  pageWithCaption(
    null,
    "Send a file",
    summaryArea,
    h("form", { id: "upload-form", novalidate: true, onsubmit: send }, fileGroup, upnGroup, submit),
    announcer,
    progress,
    status,
  );
  fileInput.addEventListener("change", check);
}

/** The file name with its destination replaced by `laestab` (the closed school's successor). */
function renamedFor(chosen, laestab) {
  const extension = chosen.filename.slice(chosen.stem.length);
  if (chosen.family === "generic") return `${chosen.source}_${laestab}_${chosen.text}${extension}`;
  return `${chosen.source}_${chosen.fileType}_${laestab}_${chosen.sequence}${extension}`;
}

function warningText(...children) {
  return h(
    "div",
    { class: "govuk-warning-text", "data-testid": "destination-warning" },
    h("span", { class: "govuk-warning-text__icon", "aria-hidden": "true" }, "!"),
    h("strong", { class: "govuk-warning-text__text" }, h("span", { class: "govuk-visually-hidden" }, "Warning"), ...children),
  );
}

function pollUntilDone(id, deadline = Date.now() + 120000) {
  return new Promise((resolve, reject) => {
    async function poll() {
      try {
        const transfer = await api("GET", `/transfers/${encodeURIComponent(id)}`);
        if (transfer.status === "pending_upload" && Date.now() < deadline) {
          pollTimer = setTimeout(poll, 500);
          return;
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

async function subscriptionsPage(banner = null) {
  const setting = await api("GET", "/subscriptions/me");
  const result = h("div", {});
  async function change(method) {
    try {
      if (method === "PUT") await api("PUT", "/subscriptions/me", { body: {} });
      else await api("DELETE", "/subscriptions/me");
    } catch (error) {
      showErrorIn(result, error);
      return;
    }
    await subscriptionsPage(notificationBanner({ success: true, heading: method === "PUT" ? "You will get emails about your organisation's files" : "You will no longer get emails" }));
  }
  page(
    "Email alerts",
    banner,
    summaryList([
      ["Organisation", party(setting.organisation, setting.organisation_name)],
      ["Your email", setting.email],
      ["Alerts", h("span", { "data-testid": "subscribed" }, setting.subscribed ? "You get emails about your organisation's files" : "You do not get emails")],
      ["People getting alerts", String(setting.subscriber_count)],
    ]),
    setting.subscribed
      ? h("button", { type: "button", class: "govuk-button govuk-button--secondary", "data-module": "govuk-button", id: "unsubscribe", onclick: () => change("DELETE") }, "Stop emails")
      : h("button", { type: "button", class: "govuk-button", "data-module": "govuk-button", id: "subscribe", onclick: () => change("PUT") }, "Get emails"),
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

function field(id, label, attrs = {}, hint = null) {
  const { class: extraClass, ...rest } = attrs;
  return h(
    "div",
    { class: "govuk-form-group app-filter" },
    h("label", { for: id, class: "govuk-label" }, label),
    hint ? h("div", { class: "govuk-hint", id: `${id}-hint` }, hint) : null,
    h("input", { id, name: id, class: `govuk-input ${extraClass || ""}`.trim(), "aria-describedby": hint ? `${id}-hint` : null, ...rest }),
  );
}

async function reportsPage() {
  const today = new Date();
  const yearStart = new Date(Date.UTC(today.getUTCFullYear(), 0, 1));
  const results = h("div", { id: "report-results" });
  const groupBy = h("select", { id: "group_by", name: "group_by", class: "govuk-select" }, h("option", { value: "month" }, "Month"), h("option", { value: "school" }, "School"));
  const form = h(
    "form",
    { class: "app-filters", novalidate: true },
    user.kind === "dfe" ? field("la", "LA code", { inputmode: "numeric", maxlength: "3", class: "govuk-input--width-3" }, "Leave empty for England") : null,
    field("from", "From", { type: "date", value: isoDate(yearStart) }),
    field("to", "To", { type: "date", value: isoDate(today) }),
    h("div", { class: "govuk-form-group app-filter" }, h("label", { for: "group_by", class: "govuk-label" }, "Group by"), groupBy),
    h(
      "div",
      { class: "govuk-button-group" },
      h("button", { type: "submit", class: "govuk-button", "data-module": "govuk-button" }, "Show report"),
      h("button", { type: "button", class: "govuk-button govuk-button--secondary", "data-module": "govuk-button", id: "csv", onclick: () => downloadCsv() }, "Download CSV"),
    ),
  );

  function query(format) {
    const data = new FormData(form);
    return { la: user.kind === "la" ? user.la : data.get("la"), from: data.get("from"), to: data.get("to"), group_by: data.get("group_by"), format };
  }

  async function show(event) {
    if (event) event.preventDefault();
    replace(results, p("Loading..."));
    try {
      const report = await api("GET", "/reports/transfers", { query: query("json") });
      renderReport(report, results);
    } catch (error) {
      if (error instanceof StaleNavigation) return;
      showErrorIn(results, error);
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
      showErrorIn(results, error);
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
    p(`${report.scope === "national" ? "England" : `LA ${report.la}`}, ${formatDate(report.date_from)} to ${formatDate(report.date_to)}.`),
    report.rows.length ? barChart(report.rows.map((row) => [key(row), row.sent, row.received]), "Files sent and received") : p("No files in this period."),
    table(`Transfers by ${label.toLowerCase()}`, [label, ...METRICS.map(([, text]) => text)], rows, { "data-testid": "report-table" }),
  );
}

/** A grouped bar chart (sent, received) drawn as SVG with attributes and classes only: the CSP
 * forbids inline styles. The table below it carries the same numbers for screen readers. */
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
    class: "app-chart", viewBox: `0 0 ${width} ${height + top + bottom}`, width, height: height + top + bottom,
    role: "img", "aria-label": `${title}: chart of the table below`, "data-testid": "report-chart",
  });
  chart.append(s("title", {}, title));
  chart.append(s("line", { x1: left, y1: top + height, x2: width, y2: top + height, class: "app-chart__axis" }));
  chart.append(s("text", { x: left - 4, y: top + 8, class: "app-chart__label", "text-anchor": "end" }, String(max)));
  chart.append(s("text", { x: left - 4, y: top + height, class: "app-chart__label", "text-anchor": "end" }, "0"));
  series.forEach(([name, sent, received], index) => {
    const x = left + gap + index * (2 * barWidth + gap);
    chart.append(
      s("rect", { x, y: top + height - scale(sent), width: barWidth, height: scale(sent), class: "app-chart__bar app-chart__bar--sent" }, s("title", {}, `${name}: ${sent} sent`)),
      s("rect", { x: x + barWidth, y: top + height - scale(received), width: barWidth, height: scale(received), class: "app-chart__bar app-chart__bar--received" }, s("title", {}, `${name}: ${received} received`)),
      s("text", { x: x + barWidth, y: top + height + 14, class: "app-chart__label", "text-anchor": "middle" }, String(name).slice(0, 10)),
    );
  });
  return h(
    "figure",
    { class: "app-chart-figure" },
    chart,
    h("figcaption", { class: "govuk-body-s" }, h("span", { class: "app-legend app-legend--sent" }, "Sent"), " ", h("span", { class: "app-legend app-legend--received" }, "Received")),
  );
}

async function undownloadedPage() {
  const results = h("div", {});
  const form = h(
    "form",
    { class: "app-filters", novalidate: true },
    user.kind === "dfe" ? field("la", "LA code", { inputmode: "numeric", maxlength: "3", class: "govuk-input--width-3" }) : null,
    field("older_than_days", "Older than (days)", { type: "number", min: "0", value: "7", class: "govuk-input--width-3" }),
    h("div", { class: "govuk-button-group" }, h("button", { type: "submit", class: "govuk-button", "data-module": "govuk-button" }, "Show files")),
  );
  async function show(event) {
    if (event) event.preventDefault();
    const data = new FormData(form);
    const la = user.kind === "la" ? user.la : data.get("la");
    if (!la) {
      replace(results, errorSummary([["Enter an LA code", "#la"]]));
      initComponents(results);
      return;
    }
    try {
      const report = await api("GET", "/reports/undownloaded", { query: { la, older_than_days: data.get("older_than_days") } });
      const rows = report.items.map((item) => [
        h("a", { href: `/transfers/${item.transfer_id}`, class: "govuk-link" }, item.filename),
        party(item.recipient, item.recipient_name),
        party(item.sender, item.sender_name),
        `${item.age_days} days`,
        formatDate(item.expires_at),
        item.no_subscribers ? tag("Nobody gets emails", "red") : "",
      ]);
      replace(
        results,
        rows.length
          ? table(`Files not downloaded after ${report.older_than_days} days`, ["File", "For", "From", "Waiting", "Available until", "Alerts"], rows, { "data-testid": "undownloaded-table" })
          : p("Every file older than that has been downloaded."),
      );
    } catch (error) {
      if (error instanceof StaleNavigation) return;
      showErrorIn(results, error);
    }
  }
  form.addEventListener("submit", show);
  page("Files not downloaded", p("Files waiting for your schools, oldest first. Contact a school whose files wait too long."), form, results);
  if (user.kind === "la") await show();
}

async function lostPupilsPage() {
  const results = h("div", {});
  const form = h(
    "form",
    { class: "app-filters", novalidate: true },
    field("upn", "Pupil's UPN", { autocomplete: "off", spellcheck: "false", maxlength: "13", class: "govuk-input--width-20" }),
    h("div", { class: "govuk-button-group" }, h("button", { type: "submit", class: "govuk-button", "data-module": "govuk-button" }, "Search")),
  );
  async function search(event) {
    if (event) event.preventDefault();
    const upn = String(new FormData(form).get("upn") || "").trim().toUpperCase();
    if (!upn) {
      replace(results, errorSummary([["Enter the pupil's UPN", "#upn"]]));
      initComponents(results);
      return;
    }
    try {
      const list = await api("GET", "/lost-pupils", { query: { upn } });
      const rows = list.items.map((item) => [
        h("a", { href: `/transfers/${item.transfer_id}`, class: "govuk-link" }, item.filename),
        party(item.source, item.source_name),
        statusTag(item.status),
        when(item.available_at || item.created_at),
        item.claimable ? claimForm(item, search) : "",
      ]);
      replace(
        results,
        rows.length
          ? table("Lost Pupils Database files for this UPN", ["File", "From", "Status", "Sent", "Claim for a school"], rows, { "data-testid": "lpd-table" })
          : p("No Lost Pupils Database files for this UPN."),
      );
      initComponents(results);
    } catch (error) {
      if (error instanceof StaleNavigation) return;
      showErrorIn(results, error);
    }
  }
  form.addEventListener("submit", search);
  page("Lost pupils", p("Find files sent to the Lost Pupils Database for a pupil, and send one on to the school the pupil joined."), form, results);
}

function claimForm(item, refresh) {
  const id = `dest-${item.transfer_id}`;
  const message = h("p", { class: "govuk-error-message", id: `${id}-error`, hidden: true });
  return h(
    "form",
    {
      class: "app-claim-form",
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        const destination = String(new FormData(event.currentTarget).get("destination") || "").trim();
        try {
          await api("POST", `/lost-pupils/${encodeURIComponent(item.transfer_id)}/claim`, { body: { destination } });
          await refresh();
        } catch (error) {
          message.hidden = false;
          replace(message, hidden("Error: "), error.message);
        }
      },
    },
    h("label", { for: id, class: "govuk-label govuk-label--s" }, "School LAESTAB"),
    message,
    h("input", { id, name: "destination", class: "govuk-input govuk-input--width-10", inputmode: "numeric", maxlength: "7", "aria-describedby": `${id}-error` }),
    h("button", { type: "submit", class: "govuk-button govuk-button--secondary app-claim-form__button", "data-module": "govuk-button" }, "Claim"),
  );
}

// ------------------------------------------------------------------------- LRS registration

const LRS_FIELDS = [
  ["ukprn", "UKPRN", { inputmode: "numeric", maxlength: "8", autocomplete: "off", spellcheck: "false", class: "govuk-input--width-10" }, "8 digits, starting with 1. Leave empty if your organisation has an LRS organisation reference instead."],
  ["organisation_ref", "LRS organisation reference (only if you have no UKPRN)", { maxlength: "20", autocomplete: "off", spellcheck: "false", class: "govuk-input--width-20" }],
  ["username", "LRS web service user name", { maxlength: "100", autocomplete: "off", spellcheck: "false", class: "govuk-input--width-20" }],
  ["password", "LRS web service password", { type: "password", maxlength: "128", autocomplete: "new-password", class: "govuk-input--width-20" }, "S2S checks it with the LRS once and keeps it. It is never shown again."],
];

async function lrsRegistrationPage(banner = null) {
  const current = await api("GET", "/uln/registration");
  const result = h("div", {});
  const form = h(
    "form",
    { novalidate: true, "data-testid": "lrs-form" },
    ...LRS_FIELDS.map(([id, label, attrs, hint]) => lrsField(id, label, attrs, hint)),
    h("button", { type: "submit", class: "govuk-button", "data-module": "govuk-button" }, current.registered ? "Check and replace" : "Check and save"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const value = (name) => String(data.get(name) || "").trim();
    const body = { username: value("username"), password: String(data.get("password") || "") };
    // One of the two names the organisation; both (or neither) is refused by the API, naming the field.
    if (value("ukprn") || !value("organisation_ref")) body.ukprn = value("ukprn");
    if (value("organisation_ref")) body.organisation_ref = value("organisation_ref");
    form.querySelector("#password").value = "";
    try {
      await api("PUT", "/uln/registration", { body });
    } catch (error) {
      if (error instanceof StaleNavigation) return;
      const fields = new Set(LRS_FIELDS.map(([id]) => id));
      const items = (error.details || []).filter((d) => d.field && fields.has(d.field)).map((d) => [`${lrsLabel(d.field)}: ${d.message || "the LRS refused it"}`, `#${d.field}`]);
      replace(result, errorSummary(items.length ? items : [[error.message, null]], { extra: items.length ? p(error.message) : null }));
      initComponents(result);
      return;
    }
    await lrsRegistrationPage(notificationBanner({ success: true, heading: "The LRS accepted the account. S2S will use it for your organisation's ULN requests." }));
  });
  async function forget() {
    try {
      await api("DELETE", "/uln/registration");
    } catch (error) {
      showErrorIn(result, error);
      return;
    }
    await lrsRegistrationPage(notificationBanner({ success: true, heading: "S2S no longer keeps your organisation's LRS account" }));
  }
  page(
    "LRS registration",
    banner,
    current.needs_attention
      ? notificationBanner({ heading: "The LRS has refused this account's password. Enter the account again.", attrs: { "data-testid": "needs-attention" } })
      : null,
    p("To use the ULN service, your organisation must be registered with the Learning Records Service (in the LRS Organisation Portal, with its learning provider agreement signed). Then enter your organisation's LRS web service account here: S2S sends it with your ULN requests, so the LRS knows they come from your organisation."),
    current.registered
      ? summaryList(
          [
            [current.ukprn ? "UKPRN" : "LRS organisation reference", current.ukprn || current.organisation_ref],
            ["User name", current.username],
            ["Last checked with the LRS", when(current.checked_at)],
            ["Status", current.needs_attention ? tag("Needs attention", "red") : tag("Registered", "green")],
          ],
          { "data-testid": "lrs-registration" },
        )
      : p(h("strong", { "data-testid": "lrs-not-registered" }, "Your organisation has no LRS account in S2S yet.")),
    h("h2", { class: "govuk-heading-m" }, current.registered ? "Replace the account" : "Enter the account"),
    result,
    form,
    current.registered
      ? h("button", { type: "button", class: "govuk-button govuk-button--warning", "data-module": "govuk-button", id: "forget-lrs", onclick: forget }, "Remove the account from S2S")
      : null,
  );
}

function lrsLabel(id) {
  const found = LRS_FIELDS.find(([name]) => name === id);
  return found ? found[1] : id;
}

function lrsField(id, label, attrs, hint) {
  const { class: extraClass, ...rest } = attrs;
  return h(
    "div",
    { class: "govuk-form-group" },
    h("label", { for: id, class: "govuk-label" }, label),
    hint ? h("div", { class: "govuk-hint", id: `${id}-hint` }, hint) : null,
    h("input", { id, name: id, class: `govuk-input ${extraClass || ""}`.trim(), "aria-describedby": hint ? `${id}-hint` : null, ...rest }),
  );
}

// ------------------------------------------------------------------------- start

async function start() {
  startGovukFrontend();
  try {
    const response = await fetch("/config.json");
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    config = await response.json();
  } catch {
    page("Sorry, there is a problem", p("The service's settings could not be loaded. Try again later."));
    return;
  }
  await route();
}

start();

// ------------------------------------------------------------------------- find a school

const SEARCH_DELAY_MS = 300; // search as you type, once typing pauses

async function findASchoolPage() {
  const query = h("input", { type: "search", id: "directory-q", name: "q", class: "govuk-input govuk-!-width-two-thirds", autocomplete: "off", spellcheck: "false", maxlength: "100", "aria-describedby": "directory-q-hint" });
  const la = h("input", { type: "text", id: "directory-la", name: "la", class: "govuk-input govuk-input--width-4", inputmode: "numeric", autocomplete: "off", maxlength: "3", pattern: "[0-9]{3}", "aria-describedby": "directory-la-hint" });
  const closed = h("input", { type: "checkbox", id: "directory-closed", name: "closed", class: "govuk-checkboxes__input", checked: true });
  const results = h("div", { id: "directory-results" });
  const announcer = h("p", { class: "govuk-visually-hidden", id: "directory-announcer", "aria-live": "polite" });
  let timer = null;
  let asked = 0;

  async function search() {
    clearTimeout(timer);
    const q = query.value.trim();
    const code = la.value.trim();
    if (!q && !/^[0-9]{3}$/.test(code)) {
      replace(results);
      announcer.textContent = "";
      return;
    }
    const mine = ++asked;
    let answer;
    try {
      answer = await api("GET", "/directory/establishments", { query: { q, la: /^[0-9]{3}$/.test(code) ? code : null, status: closed.checked ? "any" : "open", limit: 50 } });
    } catch (error) {
      if (error instanceof StaleNavigation) return;
      if (mine === asked) showErrorIn(results, error);
      return;
    }
    if (mine !== asked) return; // a later search has been asked for
    if (!answer.directory) {
      replace(results, p("The school directory has not been loaded yet."));
      announcer.textContent = "The school directory has not been loaded yet.";
      return;
    }
    const count = answer.total === 1 ? "1 establishment" : `${answer.total} establishments`;
    announcer.textContent = `${count} found`;
    if (!answer.items.length) {
      replace(results, h("p", { class: "govuk-body", "data-testid": "directory-none" }, "No establishment matches. Try fewer words, or the start of a word."));
      return;
    }
    const rows = answer.items.map((item) => [
      h("span", { "data-testid": "school-name" }, item.name),
      h("span", { class: "app-hash", "data-testid": "school-laestab" }, item.laestab),
      item.la_name ? `${item.la_name} (${item.la})` : item.la,
      item.postcode || "",
      schoolStatus(item),
      copyButton(item),
    ]);
    replace(
      results,
      h("p", { class: "govuk-body", "data-testid": "directory-count" }, answer.total > answer.items.length ? `${count}; the first ${answer.items.length} are shown. Add words to narrow the search.` : count),
      table("Establishments", ["Name", "LAESTAB", "Local authority", "Postcode", "Status", h("span", { class: "govuk-visually-hidden" }, "Actions")], rows, { captionSize: "hidden", "data-testid": "directory-table" }),
    );
  }

  function copyButton(item) {
    const button = h("button", { type: "button", class: "govuk-button govuk-button--secondary govuk-!-margin-bottom-0", "data-module": "govuk-button", "data-testid": "copy-laestab", "data-laestab": item.laestab }, "Copy LAESTAB", h("span", { class: "govuk-visually-hidden" }, ` ${item.laestab} of ${item.name}`));
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(item.laestab);
        announcer.textContent = `LAESTAB ${item.laestab} copied`;
        replace(button, "Copied", h("span", { class: "govuk-visually-hidden" }, ` LAESTAB ${item.laestab} of ${item.name}`));
      } catch {
        announcer.textContent = `Copying is not allowed here: the LAESTAB is ${item.laestab}`;
      }
    });
    return button;
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(search, SEARCH_DELAY_MS);
  }

  const form = h(
    "form",
    { id: "directory-form", novalidate: true, role: "search", onsubmit: (event) => { event.preventDefault(); search(); } },
    h(
      "div",
      { class: "govuk-form-group" },
      h("label", { for: "directory-q", class: "govuk-label govuk-label--m" }, "School name, LAESTAB or URN"),
      h("div", { class: "govuk-hint", id: "directory-q-hint" }, "For example “St Mary's Primary”, 8234001 or 100003. Results appear as you type."),
      query,
    ),
    h(
      "div",
      { class: "govuk-form-group" },
      h("label", { for: "directory-la", class: "govuk-label" }, "Local authority code (optional)"),
      h("div", { class: "govuk-hint", id: "directory-la-hint" }, "3 digits, for example 823"),
      la,
    ),
    h(
      "div",
      { class: "govuk-form-group" },
      h("div", { class: "govuk-checkboxes govuk-checkboxes--small", "data-module": "govuk-checkboxes" },
        h("div", { class: "govuk-checkboxes__item" }, closed, h("label", { for: "directory-closed", class: "govuk-label govuk-checkboxes__label" }, "Include closed schools"))),
    ),
    h("button", { type: "submit", class: "govuk-button", "data-module": "govuk-button", id: "directory-search" }, "Search"),
  );
  page(
    "Find a school",
    p("Look up the LAESTAB of the school you are sending a file to. A closed school shows the school that took it over."),
    form,
    announcer,
    results,
  );
  query.addEventListener("input", later);
  la.addEventListener("input", later);
  closed.addEventListener("change", search);
}

function schoolStatus(item) {
  if (item.open) {
    return item.status === "Open" ? tag("Open", "green") : tag(item.status, "yellow");
  }
  return h(
    "span",
    {},
    tag("Closed", "grey", { "data-status": "closed" }),
    item.successor ? h("span", { class: "govuk-body-s", "data-testid": "successor" }, ` Now ${item.successor.name} (${item.successor.laestab})`) : null,
  );
}
