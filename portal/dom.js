// Small DOM helpers: every element is built with createElement and textContent, never innerHTML,
// so text from the API (file names, organisation names, reasons) can never become markup. The
// builders below write GOV.UK Frontend's documented markup (tables, summary lists, tags, error
// summaries, notification banners); GOV.UK Frontend's JavaScript is started on new content by
// `initComponents`.

import { initAll, isSupported } from "./govuk/govuk-frontend.min.js";

/** h("p", {class: "x"}, "text", child) -> element. `on*` attributes become listeners. */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  setAttributes(element, attrs);
  append(element, children);
  return element;
}

const SVG = "http://www.w3.org/2000/svg";

/** The same for SVG elements (the report chart). */
export function s(tag, attrs = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  setAttributes(element, attrs);
  append(element, children);
  return element;
}

function setAttributes(element, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (value === true) {
      element.setAttribute(key, "");
    } else {
      element.setAttribute(key, String(value));
    }
  }
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace everything inside `element`. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

// ------------------------------------------------------------------------- GOV.UK Frontend

/** Mark the page as able to run GOV.UK Frontend's JavaScript (the template does this with an
 * inline script, which the CSP forbids, so this module does it) and start the static parts. */
export function startGovukFrontend() {
  // The template's test: browsers that run ES modules (this one does, or this file would not run).
  document.body.classList.add("js-enabled");
  if ("noModule" in HTMLScriptElement.prototype) document.body.classList.add("govuk-frontend-supported");
  if (isSupported()) initComponents(document.body);
}

/** Start GOV.UK Frontend's components (data-module) inside `scope`, once each. */
export function initComponents(scope) {
  initAll({
    scope,
    onError: (error, context) => console.error("GOV.UK Frontend:", error && error.message, context && context.component && context.component.moduleName),
  });
}

/** A visually hidden span, for words a screen reader needs and a sighted reader does not. */
export function hidden(text) {
  return h("span", { class: "govuk-visually-hidden" }, text);
}

/** A table with a caption, header cells and rows of cells (strings or nodes).
 * `captionSize` "m" makes the caption the section's heading; "hidden" keeps it for screen readers
 * only (when the page's heading already says what the table is). */
export function table(caption, headers, rows, { captionSize = "m", ...attrs } = {}) {
  const captionClass =
    captionSize === "hidden" ? "govuk-table__caption govuk-visually-hidden" : `govuk-table__caption govuk-table__caption--${captionSize}`;
  return h(
    "table",
    { class: "govuk-table", ...attrs },
    h("caption", { class: captionClass }, caption),
    h("thead", { class: "govuk-table__head" }, h("tr", { class: "govuk-table__row" }, headers.map((text) => h("th", { scope: "col", class: "govuk-table__header" }, text)))),
    h("tbody", { class: "govuk-table__body" }, rows.map((cells) => h("tr", { class: "govuk-table__row" }, cells.map((cell) => h("td", { class: "govuk-table__cell" }, cell))))),
  );
}

/** A summary list of [label, value] pairs; rows whose value is empty are left out. */
export function summaryList(pairs, attrs = {}) {
  return h(
    "dl",
    { class: "govuk-summary-list", ...attrs },
    pairs
      .filter(([, value]) => value !== undefined && value !== null && value !== "")
      .map(([label, value, testid]) =>
        h("div", { class: "govuk-summary-list__row" }, h("dt", { class: "govuk-summary-list__key" }, label), h("dd", { class: "govuk-summary-list__value", "data-testid": testid || null }, value)),
      ),
  );
}

/** A tag: `colour` is one of GOV.UK Frontend's (grey, green, blue, red, yellow, orange, ...). */
export function tag(text, colour, attrs = {}) {
  return h("strong", { class: colour ? `govuk-tag govuk-tag--${colour}` : "govuk-tag", ...attrs }, text);
}

/** The error summary: `items` are [text, href] pairs (href of the field to fix, or null). GOV.UK
 * Frontend moves focus to it when it starts. */
export function errorSummary(items, { title = "There is a problem", extra = null, attrs = {} } = {}) {
  return h(
    "div",
    { class: "govuk-error-summary", "data-module": "govuk-error-summary", ...attrs },
    h(
      "div",
      { role: "alert" },
      h("h2", { class: "govuk-error-summary__title" }, title),
      h(
        "div",
        { class: "govuk-error-summary__body" },
        h("ul", { class: "govuk-list govuk-error-summary__list" }, items.map(([text, href]) => h("li", {}, href ? h("a", { href }, text) : text))),
        extra,
      ),
    ),
  );
}

let bannerCount = 0;

/** A notification banner. `success` banners are announced and take focus (role="alert"). */
export function notificationBanner({ success = false, title = success ? "Success" : "Important", heading, body = [], attrs = {} }) {
  const id = `notification-banner-title-${++bannerCount}`;
  return h(
    "div",
    {
      class: success ? "govuk-notification-banner govuk-notification-banner--success" : "govuk-notification-banner",
      role: success ? "alert" : "region",
      "aria-labelledby": id,
      "data-module": "govuk-notification-banner",
      ...attrs,
    },
    h("div", { class: "govuk-notification-banner__header" }, h("h2", { class: "govuk-notification-banner__title", id }, title)),
    h("div", { class: "govuk-notification-banner__content" }, h("p", { class: "govuk-notification-banner__heading" }, heading), body),
  );
}

export function p(...children) {
  return h("p", { class: "govuk-body" }, ...children);
}

// ------------------------------------------------------------------------- dates and sizes

const ZONE = "Europe/London";
const DATE = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: ZONE });
const DATE_TIME = new Intl.DateTimeFormat("en-GB", {
  day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: ZONE,
});

export function formatDate(iso) {
  return iso ? DATE.format(new Date(iso)) : "";
}

/** "3 Dec 2026 09:58", UK time. */
export function formatDateTime(iso) {
  if (!iso) return "";
  const parts = Object.fromEntries(DATE_TIME.formatToParts(new Date(iso)).map((part) => [part.type, part.value]));
  return `${parts.day} ${parts.month} ${parts.year} ${parts.hour}:${parts.minute}`;
}

/** "today", "yesterday", "12 days ago": how long ago `iso` was, in UK calendar days. */
export function age(iso, now = Date.now()) {
  if (!iso) return "";
  const day = (moment) => Date.parse(new Intl.DateTimeFormat("en-CA", { timeZone: ZONE }).format(new Date(moment)));
  const days = Math.round((day(now) - day(new Date(iso).getTime())) / 86400000);
  if (days <= 0) return "today";
  return days === 1 ? "yesterday" : `${days} days ago`;
}

/** A time with its age under it, for table rows: two files of the same name can be told apart. */
export function when(iso) {
  if (!iso) return "";
  return [h("time", { datetime: iso }, formatDateTime(iso)), h("br"), h("span", { class: "app-secondary-text" }, age(iso))];
}

export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
