// The CTF naming protocol (docs/SERVICE.md §2) in the browser: a port of layers/s2s/domain/naming.py, so that a
// school sees why a name is refused, and the corrected name, before anything is uploaded.
//
// The LA codes, patterns and families come from naming-rules.json, which is generated from
// s2s.domain.naming.naming_rules() (a unit test fails when it drifts). The server checks every name
// again: this check only saves the user a round trip, it decides nothing.

export const REASONS = [
  "bad_extension", "bad_pattern", "bad_source", "unknown_la", "bad_destination",
  "bad_sequence", "source_not_sender", "lpd_needs_upn", "bad_upn",
];

const EXAMPLES =
  "8231234_CTF_8232345_001.zip (CTF), 823LLLL_ADT_8234001_26001.zip (admissions) or " +
  "8231234_8232345_SENreport.zip (any other file)";

// What browsers and file managers append to a second copy: " (1)", "(2)", " - Copy (3)".
const COPY_SUFFIX = /(?: ?\([0-9]{1,3}\)| - copy(?: \([0-9]{1,3}\))?)$/i;
const CASE_FIXABLE_ORG = /^(?:[0-9]{3}(?:LLLL|XXXX)|XXXXXXX|MMMMMMM)$/i;
const STEM_CHAR = /^[A-Za-z0-9_-]$/;
const NNN = /^[0-9]{3}$/;
const YYNNN = /^[0-9]{2}([0-9]{3})$/;

/** A refused name: `code` is one of REASONS, `suggestion` the corrected name or null. */
export class NamingError extends Error {
  constructor(code, message, suggestion = null) {
    super(message);
    this.code = code;
    this.suggestion = suggestion;
  }
}

class Refusal extends Error {
  constructor(code, message, unlessSuggested = "") {
    super(message);
    this.code = code;
    this.unlessSuggested = unlessSuggested;
  }
}

function full(pattern) {
  return new RegExp(`^(?:${pattern})$`);
}

// ASCII-only case folding, so that lengths and positions match the original text.
function asciiLower(text) {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}
function asciiUpper(text) {
  return text.replace(/[a-z]/g, (c) => c.toUpperCase());
}

function pyStrip(text) {
  return text.replace(/^\s+|\s+$/gu, "");
}

/** Build a checker from the rules document (the parsed naming-rules.json). */
export function makeNaming(rules) {
  // The API lists the types in this family order in its messages; the JSON's keys are sorted.
  const order = ["ctf", "atf", "admissions", "generic"];
  const families = Object.keys(rules.families).sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
  const fileTypes = new Map();
  for (const family of families) {
    for (const type of rules.families[family].types) fileTypes.set(type, family);
  }
  const typeList = [...fileTypes.keys()];
  const school = full(rules.source_patterns.school);
  const laItself = full(rules.source_patterns.la);
  const laUnknownSchool = full(rules.destination_patterns.la_unknown_school);
  const lpdUnknown = rules.destination_patterns.lpd_unknown;
  const lpdOutside = rules.destination_patterns.lpd_outside;
  const genericText = full(rules.generic_text.pattern);
  const genericMax = rules.generic_text.max_length;
  const maxLength = rules.max_length;
  const laCodes = rules.la_codes;
  const knownLa = (code) => Object.prototype.hasOwnProperty.call(laCodes, code);

  function hasZipExtension(name) {
    return /\.[zZ][iI][pP]$/.test(name);
  }

  function extensionMessage(name) {
    const stripped = name.replace(/\s+$/u, "");
    if (stripped !== name && hasZipExtension(stripped)) {
      return "The name has spaces or invisible characters after “.zip”. Remove them and send the file again.";
    }
    if (stripped.slice(-4).toLowerCase() === ".xml") {
      return (
        "S2S only accepts zip files encrypted with AES-256, and this is an XML file. Zip it with " +
        "AES-256 encryption (for example with `s2s pack`, or WinZip's AES-256 option) and send the zip."
      );
    }
    return "The name must end in “.zip”: S2S only accepts files zipped with AES-256 encryption.";
  }

  function describe(char) {
    if (char === " ") return "a space";
    if (char === "/" || char === "\\") return `a folder separator (“${char}”)`;
    if (char === ".") return "a full stop (“.”), as in a second extension such as .xml.zip";
    if (char === "\u00a0") return "a non-breaking space (U+00A0)";
    const hex = char.codePointAt(0).toString(16).toUpperCase().padStart(4, "0");
    if (/[\s\p{C}]/u.test(char)) return `an invisible character (U+${hex})`;
    if (char.codePointAt(0) > 127) return `the character “${char}” (U+${hex})`;
    return `the character “${char}”`;
  }

  function checkCharacters(stem) {
    const copy = COPY_SUFFIX.exec(stem);
    if (copy) {
      throw new Refusal(
        "bad_pattern",
        `The name ends in the copy number “${copy[0]}”, which a browser or computer adds when a ` +
          "file is saved twice; the receiving school's system cannot import a file named like that. " +
          "Remove the copy number.",
      );
    }
    const stripped = pyStrip(stem);
    if (stem !== stripped) {
      const chars = [...stem];
      const edge = chars[0] !== [...stripped][0] || !stripped ? chars[0] : chars[chars.length - 1];
      throw new Refusal(
        "bad_pattern",
        `The name starts or ends with ${describe(edge)}. Remove it and send the file again.`,
      );
    }
    for (const char of stem) {
      if (!STEM_CHAR.test(char)) {
        throw new Refusal(
          "bad_pattern",
          `The name contains ${describe(char)}. S2S names use only the letters A-Z and a-z, the ` +
            `digits 0-9, underscores and hyphens, for example ${EXAMPLES}.`,
        );
      }
    }
  }

  function shapeMessage(tokens) {
    let hint;
    if (tokens.length === 4) {
      hint =
        `It has four parts, but the second, “${tokens[1]}”, is not a file type ` +
        `(${typeList.join(", ")}). A generic file's name has three parts, and its description ` +
        "(the last part) may not contain underscores.";
    } else if (tokens.length > 4) {
      hint =
        "It has too many parts. A generic file's description (the last part) may use letters, digits " +
        "and hyphens, but not underscores.";
    } else {
      hint = "It has too few parts: it needs at least the sender and the destination, separated by underscores.";
    }
    return `The name does not follow the S2S naming rules. ${hint} Examples: ${EXAMPLES}.`;
  }

  function familyOf(fileType) {
    const family = fileTypes.get(fileType);
    if (family) return family;
    throw new Refusal(
      "bad_pattern",
      `The file type “${fileType}” must be written in capitals: ${asciiUpper(fileType)}.`,
    );
  }

  function checkGeneric(stem, destination, text) {
    if (fileTypes.has(asciiUpper(destination))) {
      throw new Refusal(
        "bad_pattern",
        `The name stops after the destination: add the file's number at the end, for example ${stem}_001.`,
      );
    }
    if (!genericText.test(text)) {
      throw new Refusal(
        "bad_pattern",
        `The description at the end of the name is ${[...text].length} characters; it may be at most ` +
          `${genericMax} (letters, digits and hyphens).`,
      );
    }
  }

  function source(token) {
    let match = school.exec(token);
    let kind = "school";
    if (!match) {
      match = laItself.exec(token);
      kind = "la";
    }
    if (!match) throw new Refusal("bad_source", sourceMessage(token));
    const la = match[1];
    if (!knownLa(la)) {
      throw new Refusal(
        "unknown_la",
        `${la} (the start of the sender, ${token}) is not a local authority code S2S knows. Check the ` +
          "first three digits of your LAESTAB.",
      );
    }
    return { kind, la };
  }

  function sourceMessage(token) {
    const upper = asciiUpper(token);
    if (laItself.test(upper)) return `Write the sender “${token}” in capitals: ${upper}.`;
    if (laUnknownSchool.test(upper) || upper === lpdUnknown || upper === lpdOutside) {
      return (
        `“${token}” can only be a destination. The first part of the name is the sender: your own ` +
        "7-digit LAESTAB, or your LA code followed by LLLL for a local authority (for example 823LLLL)."
      );
    }
    return (
      `The sender “${token}” is not a LAESTAB. The first part of the name must be your 7-digit ` +
      "LAESTAB (3-digit LA code and 4-digit establishment number, for example 8231234), or your LA " +
      "code followed by LLLL for a local authority (for example 823LLLL)."
    );
  }

  function destination(token, family) {
    let kind;
    let match;
    if ((match = school.exec(token))) kind = "school";
    else if ((match = laItself.exec(token))) kind = "la";
    else if ((match = laUnknownSchool.exec(token))) kind = "la_unknown_school";
    else if (token === lpdUnknown || token === lpdOutside) {
      if (!rules.families[family].lpd_destinations) {
        throw new Refusal(
          "bad_destination",
          `${token} (the Lost Pupils Database) is for CTFs only. Address this file to a ` +
            "school's LAESTAB, or to its LA as <LA>LLLL or <LA>XXXX.",
        );
      }
      return { kind: token === lpdUnknown ? "lpd_unknown" : "lpd_outside", la: null };
    } else {
      throw new Refusal("bad_destination", destinationMessage(token));
    }
    const la = match[1];
    if (!knownLa(la)) {
      throw new Refusal(
        "unknown_la",
        `${la} (the start of the destination, ${token}) is not a local authority code S2S knows. ` +
          "Check the receiving school's LAESTAB: it is 3 digits of LA code and 4 of establishment number.",
      );
    }
    return { kind, la };
  }

  function destinationMessage(token) {
    if (CASE_FIXABLE_ORG.test(token)) return `Write the destination “${token}” in capitals: ${asciiUpper(token)}.`;
    return (
      `The destination “${token}” is not one S2S can deliver to. Use the receiving school's ` +
      "7-digit LAESTAB (for example 8232345), <LA>LLLL for the local authority itself, <LA>XXXX when " +
      "you know the LA but not the school, or, for a CTF only, XXXXXXX (destination unknown) or " +
      "MMMMMMM (independent school or outside England and Wales)."
    );
  }

  function checkSequence(sequence, family) {
    const allowed = rules.families[family].sequence;
    const short = NNN.test(sequence);
    const long = YYNNN.test(sequence);
    const ok = (allowed.includes("nnn") && short) || (allowed.includes("YYnnn") && long);
    let shape;
    if (allowed.length === 2) {
      shape = "three digits from 001 to 999 (for example 001), or a two-digit year and three digits (26001)";
    } else if (allowed.includes("nnn")) {
      shape = "three digits from 001 to 999, for example 001";
    } else {
      shape = "a two-digit year and a three-digit number, for example 26001 for the first file of 2026";
    }
    if (!ok) throw new Refusal("bad_sequence", `The number at the end of the name, “${sequence}”, must be ${shape}.`);
    if (sequence.slice(-3) === "000") {
      throw new Refusal(
        "bad_sequence",
        `The number at the end of the name, “${sequence}”, ends in 000: files are numbered from 001. ` +
          "Use 001 for the first file to this destination.",
      );
    }
  }

  function parse(name) {
    if (typeof name !== "string" || !hasZipExtension(name)) {
      throw new Refusal(
        "bad_extension",
        extensionMessage(typeof name === "string" ? name : ""),
        `Zip the file and give the zip a name such as ${EXAMPLES}.`,
      );
    }
    const stem = name.slice(0, -4);
    if (!stem) throw new Refusal("bad_pattern", `The name is only “${name}”. Name the file by the S2S rules: ${EXAMPLES}.`);
    // Characters first, so a long name with a wrong character is told which character (as s2s.domain.naming).
    checkCharacters([...stem].slice(0, 4 * maxLength).join(""));
    const length = [...name].length;
    if (length > maxLength) {
      throw new Refusal(
        "bad_pattern",
        `The name is ${length} characters long; S2S names are much shorter, for example ${EXAMPLES}.`,
      );
    }
    const tokens = stem.split("_");
    if (tokens.includes("")) {
      throw new Refusal(
        "bad_pattern",
        "The name has two underscores together, or one at the start or end. The parts are " +
          `separated by single underscores, for example ${EXAMPLES}.`,
      );
    }
    let src, fileType, dst, sequence, text, family;
    if (tokens.length === 4) {
      if (!fileTypes.has(asciiUpper(tokens[1]))) throw new Refusal("bad_pattern", shapeMessage(tokens));
      [src, fileType, dst, sequence] = tokens;
      text = null;
      family = familyOf(fileType);
    } else if (tokens.length === 3) {
      [src, dst, text] = tokens;
      fileType = "GEN";
      sequence = null;
      family = "generic";
      checkGeneric(stem, dst, text);
    } else {
      throw new Refusal("bad_pattern", shapeMessage(tokens));
    }
    const from = source(src);
    const to = destination(dst, family);
    if (sequence !== null) checkSequence(sequence, family);
    return {
      filename: name, stem, family, fileType, source: src, sourceKind: from.kind, sourceLa: from.la,
      destination: dst, destKind: to.kind, destLa: to.la, sequence, text,
      isLpd: to.kind === "lpd_unknown" || to.kind === "lpd_outside",
    };
  }

  function corrected(name) {
    const text = pyStrip(name);
    const lower = asciiLower(text);
    let stem;
    let extension;
    if (lower.endsWith(".xml.zip")) [stem, extension] = [text.slice(0, -8), text.slice(-4)];
    else if (lower.endsWith(".zip")) [stem, extension] = [text.slice(0, -4), text.slice(-4)];
    else if (lower.endsWith(".xml")) [stem, extension] = [text.slice(0, -4), ".zip"];
    else [stem, extension] = [text, ".zip"];
    for (let i = 0; i < 3; i += 1) stem = pyStrip(pyStrip(stem).replace(COPY_SUFFIX, ""));
    const tokens = stem.split("_");
    if (tokens.length === 3 || tokens.length === 4) {
      const orgs = tokens.length === 4 ? [0, 2] : [0, 1];
      for (const index of orgs) {
        if (CASE_FIXABLE_ORG.test(tokens[index])) tokens[index] = asciiUpper(tokens[index]);
      }
      if (tokens.length === 4 && fileTypes.has(asciiUpper(tokens[1]))) tokens[1] = asciiUpper(tokens[1]);
    }
    return tokens.join("_") + extension;
  }

  /** The corrected name when the name fails only on case, a copy suffix, spaces or a missing .zip. */
  function suggestName(name) {
    if (typeof name !== "string" || name.length > 4 * maxLength) return null;
    const candidate = corrected(name);
    if (candidate === name) return null;
    try {
      parse(candidate);
    } catch (error) {
      if (error instanceof Refusal) return null;
      throw error;
    }
    return candidate;
  }

  function suggestionSentence(name, code, suggestion) {
    const trimmed = pyStrip(name);
    if (trimmed.slice(-4).toLowerCase() === ".xml") return `Name the zip ${suggestion}.`;
    if (code === "bad_extension" && !hasZipExtension(trimmed)) {
      return (
        `If this file is already the encrypted zip, rename it to ${suggestion}; if not, zip it with ` +
        `AES-256 encryption and name the zip ${suggestion}.`
      );
    }
    return `Rename the file to ${suggestion} and send it again.`;
  }

  /** Split a protocol name, or throw NamingError with the first failing reason and a suggestion. */
  function parseFilename(name) {
    try {
      return parse(name);
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      const suggestion = suggestName(name);
      let message = error.message;
      if (suggestion !== null) message += " " + suggestionSentence(name, error.code, suggestion);
      else if (error.unlessSuggested) message += " " + error.unlessSuggested;
      throw new NamingError(error.code, message, suggestion);
    }
  }

  /** Everything the browser can check before an upload: the name, that it is from `senderOrg`,
   * and that an LPD file (XXXXXXX/MMMMMMM) has a UPN. The server checks the UPN's check letter. */
  function checkUploadName(name, senderOrg, upn) {
    const parsed = parseFilename(name);
    if (parsed.source !== senderOrg) {
      let own = "Only schools and local authorities send files.";
      if (school.test(senderOrg)) own = `The first part of the name must be your own LAESTAB, ${senderOrg}.`;
      else if (laItself.test(senderOrg)) own = `The first part of the name must be your LA code followed by LLLL, ${senderOrg}.`;
      throw new NamingError(
        "source_not_sender",
        `This file's name says it is from ${parsed.source}, but you are signed in for ${senderOrg}. ${own}`,
      );
    }
    if (parsed.isLpd && !upn) {
      throw new NamingError(
        "lpd_needs_upn",
        `Files addressed to ${parsed.destination} go to the Lost Pupils Database and hold exactly one ` +
          "pupil. Enter that pupil's UPN with the upload.",
      );
    }
    return parsed;
  }

  return { parseFilename, suggestName, checkUploadName };
}

let loaded = null;

/** The checker built from naming-rules.json, fetched once. */
export function loadNaming() {
  if (!loaded) {
    loaded = fetch("/naming-rules.json")
      .then((response) => {
        if (!response.ok) throw new Error(`naming-rules.json: HTTP ${response.status}`);
        return response.json();
      })
      .then(makeNaming);
  }
  return loaded;
}
