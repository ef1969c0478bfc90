// A transfer's history in plain words, and who may see whose people in it.
//
// Privacy (the service's rule for a transfer's history): each organisation sees the details of
// its own people's actions (user, email address, source IP, user agent); another organisation's
// actions appear only as that organisation, the action and the time. An email in the history
// says which organisation it went to, never the address. An LA sees its own schools' people as
// those schools do. The API already leaves those fields out; the portal shows them only when
// this rule allows, whatever the API sent (defence in depth).

const SCHOOL = /^[0-9]{7}$/;

/** May `viewer` (the signed-in user) see the people behind an action by `actorOrg`? */
export function mayShowPeople(viewer, actorOrg) {
  if (!viewer || !actorOrg || !viewer.org) return false;
  if (actorOrg === viewer.org) return true;
  // An LA sees its own schools' people (LAESTAB = LA code + establishment number).
  return viewer.kind === "la" && Boolean(viewer.la) && SCHOOL.test(actorOrg) && actorOrg.startsWith(viewer.la);
}

const SYSTEM = "S2S";

/** An organisation as people know it: its name where known, else what its code says it is. */
export function orgLabel(code, names = {}) {
  if (!code) return "";
  if (code === SYSTEM) return "S2S";
  if (names[code]) return names[code];
  if (SCHOOL.test(code)) return `School ${code}`;
  if (/^[0-9]{3}LLLL$/.test(code)) return `LA ${code.slice(0, 3)}`;
  if (/^[0-9]{3}XXXX$/.test(code) || code === "XXXXXXX" || code === "MMMMMMM") return `the Lost Pupils Database (${code})`;
  return code;
}

const EMAIL_ABOUT = {
  "transfer.available": "a file is ready",
  "transfer.rejected": "the file was rejected",
  "transfer.downloaded": "the file was downloaded",
  "transfer.expiring": "the file expires soon",
  "transfer.claimed": "a file was claimed",
};

/** [at, what, who] for each event the viewer may see, oldest first, in words. */
export function historyRows(transfer, viewer, names = {}) {
  const events = [...(transfer.audit || [])].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return events.map((event) => {
    const org = orgLabel(event.actor_org, names);
    const details = event.details || {};
    let what;
    switch (event.action) {
      case "created":
        what = `Upload started by ${org}`;
        break;
      case "available":
        what = "Checked and accepted";
        break;
      case "rejected":
        what = "Checked and rejected"; // the reason is in the banner at the top of the page
        break;
      case "downloaded":
        what = `Downloaded by ${org}`;
        break;
      case "withdrawn":
        what = `Withdrawn by ${org}`;
        break;
      case "removed":
        what = `Removed by ${org}`;
        break;
      case "expired":
        what = "Expired and deleted";
        break;
      case "expiring_reminder":
        what = "Reminder due: the file expires soon";
        break;
      case "claimed":
        what = `Claimed by ${org} for ${orgLabel(details.destination, names)}`;
        break;
      case "email_sent": {
        // The organisation, never the address.
        const about = EMAIL_ABOUT[details.type];
        what = `Email sent to ${orgLabel(details.org, names) || "the recipient"}${about ? `: ${about}` : ""}`;
        break;
      }
      default:
        what = String(event.action || "").replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
    }
    return { at: event.at, what, who: who(event, viewer, names) };
  });
}

function who(event, viewer, names) {
  if (event.actor_org === SYSTEM) return "S2S";
  const org = orgLabel(event.actor_org, names);
  if (!mayShowPeople(viewer, event.actor_org)) return org;
  const person = event.actor_user && viewer && event.actor_user === viewer.sub ? "You" : event.actor_user;
  const device = [event.source_ip, shorten(event.user_agent)].filter(Boolean).join(", ");
  return [person, org].filter(Boolean).join(", ") + (device ? ` (from ${device})` : "");
}

function shorten(text, limit = 60) {
  if (!text) return "";
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}
