// Secure messages (docs/SERVICE.md, "Secure messages"): the message inbox with its unread count, the
// sent messages with their read receipts, a thread with its reply form, writing a message (also
// "about this file" from a transfer's page), and the list of a transfer's messages.
//
// A message's body is shown as text (a text node in a pre-wrapped paragraph), never as markup. A
// read receipt shows the other organisation and the time; who there read it only to that
// organisation itself (the API leaves the person out for everyone else).

import { api, StaleNavigation } from "./api.js";
import { errorSummary, formatDateTime, h, hidden, initComponents, notificationBanner, p, replace, table, tag, when } from "./dom.js";

const SUBJECT_MAX = 120;
const BODY_MAX = 10000;

let ui = null;

/** The app's page helpers, given by app.js (which owns routing and the header). */
export function configureMessages(helpers) {
  ui = helpers;
}

function party(code, name) {
  return name && name !== code ? `${name} (${code})` : code;
}

function receiptText(message) {
  const receipt = message.read;
  if (!receipt) return "Not read yet";
  const who = receipt.read_by_email ? `${receipt.read_by_email}, ` : "";
  return `Read by ${who}${party(receipt.organisation, receipt.organisation_name)} on ${formatDateTime(receipt.read_at)}`;
}

function boxLinks(current) {
  const link = (href, text) =>
    h("li", {}, current === href ? h("strong", { "aria-current": "page" }, text) : h("a", { href, class: "govuk-link" }, text));
  return h(
    "nav",
    { "aria-label": "Messages", class: "app-message-boxes" },
    h("ul", { class: "govuk-list app-inline-list" }, link("/messages", "Received"), link("/messages/sent", "Sent")),
  );
}

function writeButton(text = "Write a message", href = "/messages/new") {
  return h("a", { href, class: "govuk-button", "data-module": "govuk-button", draggable: "false", role: "button", id: "write-message" }, text);
}

async function everyMessage(box) {
  const messages = [];
  let cursor = null;
  let unread = 0;
  do {
    const page = await api("GET", "/messages", { query: { box, cursor, limit: 100 } });
    messages.push(...page.messages);
    unread = page.unread_count;
    cursor = page.next_cursor;
  } while (cursor && messages.length < 500);
  return { messages, unread };
}

// ------------------------------------------------------------------------- the boxes

export async function messageInbox() {
  ui.page("Messages", p("Loading..."));
  const { messages, unread } = await everyMessage("inbox");
  const rows = messages.map((m) => [
    h("a", { href: `/messages/${m.message_id}`, class: "govuk-link", "data-testid": "message-link" }, m.unread ? h("strong", {}, m.subject) : m.subject),
    party(m.sender, m.sender_name),
    when(m.sent_at),
    m.unread ? tag("Unread", "blue", { "data-testid": "unread-tag" }) : tag("Read", "grey"),
  ]);
  const count = unread === 1 ? "1 unread message" : `${unread} unread messages`;
  ui.pageWithCaption(
    "Secure messages",
    "Messages",
    boxLinks("/messages"),
    p(h("strong", { "data-testid": "unread-count", "data-count": String(unread) }, `You have ${count}.`)),
    writeButton(),
    messages.length
      ? table("Messages sent to you", ["Subject", "From", "Sent", "Status"], rows, { captionSize: "hidden", "data-testid": "message-table" })
      : p(h("span", { "data-testid": "empty" }, "No messages have been sent to you.")),
  );
}

export async function sentMessages() {
  ui.page("Sent messages", p("Loading..."));
  const { messages } = await everyMessage("sent");
  const rows = messages.map((m) => [
    h("a", { href: `/messages/${m.message_id}`, class: "govuk-link", "data-testid": "message-link" }, m.subject),
    party(m.recipient, m.recipient_name),
    when(m.sent_at),
    h("span", { "data-testid": "receipt" }, receiptText(m)),
  ]);
  ui.pageWithCaption(
    "Secure messages",
    "Sent messages",
    boxLinks("/messages/sent"),
    writeButton(),
    messages.length
      ? table("Messages you have sent", ["Subject", "To", "Sent", "Read"], rows, { captionSize: "hidden", "data-testid": "message-table" })
      : p(h("span", { "data-testid": "empty" }, "You have not sent any messages.")),
  );
}

// ------------------------------------------------------------------------- a thread

function messageBlock(message, current) {
  const mine = message.direction === "sent";
  const heading = mine ? `You wrote to ${party(message.recipient, message.recipient_name)}` : `${party(message.sender, message.sender_name)} wrote`;
  return h(
    "article",
    { class: current ? "app-message app-message--current" : "app-message", "data-testid": "thread-message", "data-direction": message.direction, "aria-labelledby": `message-${message.message_id}` },
    h("h2", { class: "govuk-heading-s govuk-!-margin-bottom-1", id: `message-${message.message_id}` }, heading),
    h("p", { class: "govuk-body-s app-secondary-text" }, formatDateTime(message.sent_at), message.expired ? "" : ` · ${message.subject}`),
    message.expired
      ? p(h("span", { "data-testid": "expired" }, "This message has expired and can no longer be read."))
      : h("p", { class: "govuk-body app-message__body", "data-testid": "message-body" }, message.body || ""),
    mine ? h("p", { class: "govuk-body-s app-secondary-text", "data-testid": "read-receipt" }, receiptText(message)) : null,
  );
}

export async function threadPage(id, banner = null) {
  const answer = await api("GET", `/messages/${encodeURIComponent(id)}`);
  const message = answer.message;
  const other = message.direction === "sent" ? [message.recipient, message.recipient_name] : [message.sender, message.sender_name];
  const result = h("div", {});
  const transferLink = message.transfer_id
    ? p("About the file: ", h("a", { href: `/transfers/${message.transfer_id}`, class: "govuk-link", "data-testid": "transfer-link" }, "see the file's page"))
    : null;
  const reply = composeForm({
    to: other[0],
    subject: message.subject.startsWith("Re: ") ? message.subject : `Re: ${message.subject}`.slice(0, SUBJECT_MAX),
    replyTo: message.message_id,
    transferId: message.transfer_id,
    fixedRecipient: party(...other),
    submitText: "Send reply",
    bodyLabel: "Your reply",
  });
  const remove = h(
    "button",
    { type: "button", class: "govuk-button govuk-button--secondary", "data-module": "govuk-button", id: "delete-message", onclick: () => deleteMessage(message, result) },
    "Delete from your messages",
  );
  ui.pageWithCaption(
    message.direction === "sent" ? "Message you sent" : "Message sent to you",
    message.subject,
    banner,
    transferLink,
    h("div", { "data-testid": "thread" }, answer.thread.map((m) => messageBlock(m, m.message_id === message.message_id))),
    h("h2", { class: "govuk-heading-m" }, "Reply"),
    reply,
    result,
    remove,
  );
}

async function deleteMessage(message, result) {
  if (!window.confirm("Delete this message from your organisation's messages? The other organisation keeps its copy.")) return;
  try {
    await api("DELETE", `/messages/${encodeURIComponent(message.message_id)}`);
  } catch (error) {
    replace(result, errorSummary([[error.message, null]]));
    initComponents(result);
    return;
  }
  ui.navigate(message.direction === "sent" ? "/messages/sent" : "/messages");
}

// ------------------------------------------------------------------------- writing

function inputGroup(id, label, hint, control) {
  const error = h("p", { id: `${id}-error`, class: "govuk-error-message", hidden: true });
  const group = h(
    "div",
    { class: "govuk-form-group", id: `${id}-group` },
    h("label", { for: id, class: "govuk-label govuk-label--s" }, label),
    hint ? h("div", { class: "govuk-hint", id: `${id}-hint` }, hint) : null,
    error,
    control,
  );
  return { group, error, control, hint: hint ? `${id}-hint` : null };
}

function setError(field, message) {
  field.group.classList.toggle("govuk-form-group--error", Boolean(message));
  const errorClass = field.control.tagName === "TEXTAREA" ? "govuk-textarea--error" : "govuk-input--error";
  field.control.classList.toggle(errorClass, Boolean(message));
  field.error.hidden = !message;
  replace(field.error, message ? [hidden("Error: "), message] : []);
  const described = [field.hint, message ? field.error.id : null].filter(Boolean).join(" ");
  if (described) field.control.setAttribute("aria-describedby", described);
  else field.control.removeAttribute("aria-describedby");
}

/** The form that sends a message: a new one (recipient to type), or a reply (recipient fixed). */
function composeForm({ to = "", subject = "", replyTo = null, transferId = null, fixedRecipient = null, submitText = "Send message", bodyLabel = "Message" }) {
  const summary = h("div", {});
  const fields = {};
  if (!fixedRecipient) {
    fields.to = inputGroup(
      "to",
      "To",
      "The school's LAESTAB (7 digits, for example 8232345), or a local authority as its 3-digit code and LLLL (for example 823LLLL)",
      h("input", { type: "text", id: "to", name: "to", class: "govuk-input govuk-input--width-10", autocomplete: "off", spellcheck: "false", value: to, "aria-describedby": "to-hint" }),
    );
  }
  fields.subject = inputGroup(
    "subject",
    "Subject",
    fixedRecipient ? null : "Everyone who can see the message list sees this: keep passwords and pupils' details for the message itself",
    h("input", { type: "text", id: "subject", name: "subject", class: "govuk-input", maxlength: String(SUBJECT_MAX), value: subject, "aria-describedby": fixedRecipient ? null : "subject-hint" }),
  );
  fields.body = inputGroup(
    "body",
    bodyLabel,
    `Plain text, up to ${BODY_MAX.toLocaleString("en-GB")} characters. It is kept encrypted and is never put in an email.`,
    h("textarea", { id: "body", name: "body", class: "govuk-textarea", rows: "6", "aria-describedby": "body-hint" }),
  );
  const submit = h("button", { type: "submit", class: "govuk-button", "data-module": "govuk-button", id: "send-message" }, submitText);

  async function send(event) {
    event.preventDefault();
    const message = {
      to: fixedRecipient ? to : fields.to.control.value.trim(),
      subject: fields.subject.control.value.trim(),
      body: fields.body.control.value,
    };
    const problems = [];
    if (!message.to) problems.push(["to", "Enter who the message is for"]);
    if (!message.subject) problems.push(["subject", "Enter a subject"]);
    if (!message.body.trim()) problems.push(["body", "Enter the message"]);
    if (message.body.length > BODY_MAX) problems.push(["body", `The message must be ${BODY_MAX.toLocaleString("en-GB")} characters or fewer`]);
    for (const field of Object.values(fields)) setError(field, null);
    if (problems.length) return refuse(problems);
    if (replyTo) message.reply_to = replyTo;
    if (transferId) message.transfer_id = transferId;
    submit.disabled = true;
    try {
      const sent = await api("POST", "/messages", { body: message });
      const banner = notificationBanner({ success: true, heading: "Your message was sent", body: p(`${party(sent.recipient, sent.recipient_name)} can read it in S2S. They get an email that says only that a message is waiting.`), attrs: { "data-testid": "message-sent" } });
      await threadPage(sent.message_id, banner);
      history.pushState(null, "", `/messages/${sent.message_id}`);
    } catch (error) {
      submit.disabled = false;
      const byField = (error.details || []).filter((d) => fields[d.field]).map((d) => [d.field, `${labelOf(d.field)}: ${d.message}`]);
      if (byField.length) return refuse(byField);
      replace(summary, errorSummary([[error.message, null]], { attrs: { "data-testid": "message-error" } }));
      initComponents(summary);
    }
  }

  function labelOf(name) {
    return { to: "To", subject: "Subject", body: bodyLabel }[name];
  }

  function refuse(problems) {
    for (const [name, text] of problems) setError(fields[name], text);
    replace(summary, errorSummary(problems.map(([name, text]) => [text, `#${name}`]), { attrs: { "data-testid": "message-error" } }));
    initComponents(summary);
  }

  return h(
    "div",
    {},
    summary,
    h(
      "form",
      { id: "message-form", novalidate: true, onsubmit: send },
      fixedRecipient ? p("To: ", h("strong", { "data-testid": "reply-to-org" }, fixedRecipient)) : null,
      Object.values(fields).map((f) => f.group),
      submit,
    ),
  );
}

export async function composePage() {
  const params = new URLSearchParams(location.search);
  const transferId = params.get("transfer");
  let about = null;
  let to = params.get("to") || "";
  if (transferId) {
    const transfer = await api("GET", `/transfers/${encodeURIComponent(transferId)}`);
    about = transfer;
    if (!to) to = transfer.source === ui.user().org ? transfer.recipient : transfer.source;
  }
  ui.pageWithCaption(
    "Secure messages",
    about ? "Send a message about this file" : "Write a message",
    about ? p("About the file ", h("a", { href: `/transfers/${about.transfer_id}`, class: "govuk-link", "data-testid": "about-file" }, about.filename), ".") : null,
    p("Use a secure message for what must not go by email, such as the password of a zip you have sent."),
    composeForm({
      to,
      subject: about ? `About ${about.filename}`.slice(0, SUBJECT_MAX) : "",
      transferId: about ? about.transfer_id : null,
    }),
  );
}

// ------------------------------------------------------------------------- on a transfer's page

/** The "Messages about this file" section of a transfer's page: the messages the signed-in
 * organisation sent or received about it, and the link to write one (for the two organisations). */
export async function transferMessagesSection(transfer, viewer) {
  const section = h("div", { "data-testid": "transfer-messages" }, h("h2", { class: "govuk-heading-m" }, "Messages about this file"));
  const party_ = transfer.source === viewer.org ? transfer.recipient : transfer.recipient === viewer.org ? transfer.source : null;
  let messages = [];
  try {
    messages = (await api("GET", `/transfers/${encodeURIComponent(transfer.transfer_id)}/messages`)).messages;
  } catch (error) {
    if (error instanceof StaleNavigation) throw error;
    section.append(p("The messages about this file could not be loaded."));
    return section;
  }
  if (messages.length) {
    const rows = messages.map((m) => [
      h("a", { href: `/messages/${m.message_id}`, class: "govuk-link", "data-testid": "file-message-link" }, m.subject),
      m.direction === "sent" ? `You, to ${party(m.recipient, m.recipient_name)}` : party(m.sender, m.sender_name),
      when(m.sent_at),
      m.direction === "sent" ? receiptText(m) : m.unread ? tag("Unread", "blue") : "Read",
    ]);
    section.append(table("Messages about this file", ["Subject", "From", "Sent", "Status"], rows, { captionSize: "hidden" }));
  } else {
    section.append(p(h("span", { "data-testid": "no-file-messages" }, "No messages about this file.")));
  }
  if (party_ && !transfer.lost_pupil) {
    section.append(
      h(
        "a",
        { href: `/messages/new?transfer=${encodeURIComponent(transfer.transfer_id)}&to=${encodeURIComponent(party_)}`, class: "govuk-button govuk-button--secondary", "data-module": "govuk-button", draggable: "false", role: "button", id: "message-about-file" },
        "Send a message about this file",
      ),
    );
  }
  return section;
}
