// ULN batches (docs/SERVICE.md "ULNs in bulk"): upload a CTF of pupils, follow the batch while
// the LRS works, and download the return CTF for the MIS and the CSV of every pupil. Pages are
// drawn by app.js's `page` (passed in as `ui`), so they share its focus and title rules.
//
// Nothing downloads by itself: a return file's five-minute link is asked for when its button is
// pressed. The page names pupils by UPN only, as the API does.

import { api, uploadWithProgress } from "./api.js";
import { errorSummary, formatDateTime, h, hidden, p, replace, summaryList, table, tag } from "./dom.js";

export const BATCH_STATUS = {
  pending_upload: ["Waiting for upload", "grey"],
  validating: ["Checking the file", "blue"],
  submitted: ["With the LRS", "blue"],
  complete: ["Complete", "green"],
  rejected: ["Refused", "red"],
  failed: ["Failed", "red"],
  expired: ["Expired", "orange"],
};
const ENDED = ["complete", "rejected", "failed", "expired"];
const OUTCOME = {
  registered: "Registered",
  verified: "Verified",
  possible_matches: "Possible matches",
  no_match: "No match",
  linked: "Linked to another record",
  data_error: "Data error",
  lrs_error: "Not processed",
  pending: "Waiting for the LRS",
};
const COUNTS = [
  ["pupils", "Pupils"], ["registered", "Registered"], ["verified", "Verified"], ["linked", "Linked to another record"],
  ["possible_matches", "Possible matches to check"], ["no_match", "No match"], ["data_errors", "Data errors to correct"],
  ["matched", "With a ULN in the return file"],
];
const MAX_BYTES = 20 * 1024 * 1024;

function statusTag(status) {
  const [text, colour] = BATCH_STATUS[status] || [status, "grey"];
  return tag(text, colour, { "data-status": status });
}

function batchLink(batch) {
  return h("a", { href: `/uln/batches/${encodeURIComponent(batch.batch_id)}`, class: "govuk-link" }, batch.filename);
}

/** The list of the organisation's batches, and the form that starts one. */
export async function ulnBatchesPage(ui) {
  const listing = await api("GET", "/uln/batches", { query: { limit: 20 } });
  const fileInput = h("input", { type: "file", id: "batch-file", name: "batch-file", class: "govuk-file-upload", accept: ".xml,text/xml,application/xml", "aria-describedby": "batch-file-hint" });
  const fileError = h("p", { id: "batch-file-error", class: "govuk-error-message", hidden: true });
  const group = h(
    "div",
    { class: "govuk-form-group", id: "batch-file-group" },
    h("label", { for: "batch-file", class: "govuk-label govuk-label--m" }, "CTF file of pupils"),
    h("div", { class: "govuk-hint", id: "batch-file-hint" }, "Export a partial CTF from your MIS with each pupil's UPN, names, date of birth, sex and address. The XML file itself, not a zip: up to 5,000 pupils and 20 MB."),
    fileError,
    fileInput,
  );
  const result = h("div", { id: "batch-result" });
  const announcer = h("p", { class: "govuk-visually-hidden", id: "batch-announcer", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "govuk-button", "data-module": "govuk-button", id: "start-batch" }, "Send to the LRS");

  function problem(message) {
    group.classList.toggle("govuk-form-group--error", Boolean(message));
    fileInput.classList.toggle("govuk-file-upload--error", Boolean(message));
    fileError.hidden = !message;
    replace(fileError, message ? [hidden("Error: "), message] : []);
    fileInput.setAttribute("aria-describedby", message ? "batch-file-hint batch-file-error" : "batch-file-hint");
    replace(result, message ? errorSummary([[message, "#batch-file"]]) : []);
    if (message) ui.initComponents(result);
  }

  async function start(event) {
    event.preventDefault();
    const file = fileInput.files[0];
    if (!file) return problem("Choose the CTF file to send");
    if (!/\.xml$/i.test(file.name)) return problem("The file must be the CTF XML file from your MIS (its name ends .xml), not a zip");
    if (file.size > MAX_BYTES) return problem("The file is larger than 20 MB. Export fewer pupils per file");
    problem(null);
    submit.disabled = true;
    announcer.textContent = "Uploading the file";
    try {
      const ticket = await api("POST", "/uln/batches", { body: { filename: file.name, size_bytes: file.size } });
      await uploadWithProgress(ticket.upload, file, () => {});
      announcer.textContent = "Uploaded";
      ui.navigate(`/uln/batches/${encodeURIComponent(ticket.batch_id)}`);
    } catch (error) {
      submit.disabled = false;
      ui.showErrorIn(result, error);
    }
  }

  const rows = listing.items.map((batch) => [
    batchLink(batch),
    h("time", { datetime: batch.created_at }, formatDateTime(batch.created_at)),
    String(batch.counts.pupils || 0),
    statusTag(batch.status),
  ]);
  ui.page(
    "ULN batches",
    p("Send a CTF of your pupils to the Learning Records Service: pupils without a ULN are registered, pupils with one are checked. You get back a CTF with their ULNs to import into your MIS."),
    h("form", { id: "batch-form", novalidate: true, onsubmit: start }, result, group, submit, announcer),
    rows.length
      ? table("Your batches", ["File", "Sent", "Pupils", "Status"], rows, { id: "batch-list" })
      : p("Your organisation has not sent a batch yet."),
  );
}

/** One batch: its status, counts and pupils, following it until it ends. */
export async function ulnBatchPage(ui, id) {
  const batch = await api("GET", `/uln/batches/${encodeURIComponent(id)}`, { query: { limit: 100 } });
  const result = h("div", { id: "batch-download" });
  const counts = COUNTS.filter(([key]) => key === "pupils" || batch.status === "complete" || key === "data_errors").map(([key, label]) => [label, h("span", { "data-count": key }, String(batch.counts[key] || 0))]);

  async function download(format, button) {
    button.disabled = true;
    try {
      const link = await api("POST", `/uln/batches/${encodeURIComponent(id)}/result`, { body: { format } });
      location.assign(link.url);
    } catch (error) {
      ui.showErrorIn(result, error);
    } finally {
      button.disabled = false;
    }
  }
  const buttons = [];
  if (batch.status === "complete") {
    for (const [format, text] of [["ctf", "Download the return CTF"], ["csv", "Download every pupil's outcome (CSV)"]]) {
      const button = h("button", { type: "button", class: format === "ctf" ? "govuk-button" : "govuk-button govuk-button--secondary", "data-module": "govuk-button", id: `download-${format}` }, text);
      button.addEventListener("click", () => download(format, button));
      buttons.push(button);
    }
  }
  const outcomes = batch.outcomes.map((o) => [
    h("code", {}, o.upn),
    OUTCOME[o.outcome] || o.outcome,
    o.uln || "",
    o.message + (o.candidates ? ` (${o.candidates} candidates)` : ""),
  ]);
  const waiting = !ENDED.includes(batch.status);
  ui.pageWithCaption(
    "ULN batch",
    batch.filename,
    summaryList([
      ["Status", statusTag(batch.status)],
      ...(batch.reason_message ? [["Why", h("span", { id: "batch-reason", "data-reason": batch.reason }, batch.reason_message)]] : []),
      ["Sent", formatDateTime(batch.created_at)],
      ...counts,
    ]),
    waiting ? p(h("span", { id: "batch-waiting" }, "This page updates by itself while the LRS works on the batch. You will also get an email when it ends if you have email alerts on.")) : null,
    h("div", { class: "govuk-button-group" }, ...buttons),
    result,
    outcomes.length
      ? table(batch.next_cursor ? "The first 100 pupils (download the CSV for all)" : "Pupils", ["UPN", "Outcome", "ULN", "What to do"], outcomes, { id: "batch-outcomes" })
      : null,
    p(h("a", { href: "/uln/batches", class: "govuk-link" }, "All ULN batches")),
  );
  if (waiting) {
    // Look again every second; draw the page again (and move focus) only when the status changes.
    const look = async () => {
      const now = await api("GET", `/uln/batches/${encodeURIComponent(id)}`, { query: { limit: 1 } });
      if (now.status !== batch.status) return ulnBatchPage(ui, id);
      ui.poll(look, 1000);
    };
    ui.poll(look, 1000);
  }
}
