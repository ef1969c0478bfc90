// Sign-in: OpenID Connect authorization code flow with PKCE (RFC 7636), against DfE Sign-in in
// AWS and the local stack's development sign-in page on a laptop; both are named by /config.json.
//
// The verifier and state live in sessionStorage only between the redirect and the callback. The
// id_token lives in sessionStorage (it dies with the tab) and is never put in a URL: the callback's
// ?code&state are removed from the address bar before anything else happens.

const TOKEN_KEY = "s2s.token";
const PENDING_KEY = "s2s.pending-sign-in";

function base64url(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(byteCount = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(byteCount)));
}

/** The S256 code challenge: base64url(SHA-256(verifier)). */
export async function codeChallenge(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

function redirectUri() {
  return `${location.origin}/callback`;
}

/** Send the browser to the identity provider; `returnTo` is where to land after sign-in. */
export async function startSignIn(config, returnTo = "/") {
  const verifier = randomString(48);
  const state = randomString(24);
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state, returnTo }));
  const params = new URLSearchParams({
    response_type: "code",
    client_id: config.client_id,
    redirect_uri: redirectUri(),
    state,
    code_challenge: await codeChallenge(verifier),
    code_challenge_method: "S256",
    scope: "openid email profile organisation",
  });
  location.assign(`${config.authorize_url}?${params.toString().replace(/\+/g, "%20")}`);
}

/** On /callback: swap the code for tokens. Returns the path to go to next. Throws on a bad state. */
export async function finishSignIn(config) {
  const query = new URLSearchParams(location.search);
  // Out of the address bar (and so out of history and any later Referer) at once.
  history.replaceState(null, "", "/callback");
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null");
  sessionStorage.removeItem(PENDING_KEY);
  if (query.get("error")) {
    throw new Error(`Sign-in was not completed (${query.get("error")}). Try again.`);
  }
  const code = query.get("code");
  if (!pending || !code || query.get("state") !== pending.state) {
    throw new Error("This sign-in link has expired or was not started here. Sign in again.");
  }
  const response = await fetch(config.token_url, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      code_verifier: pending.verifier,
      redirect_uri: redirectUri(),
      client_id: config.client_id,
    }),
  });
  if (!response.ok) throw new Error(`Sign-in failed (HTTP ${response.status}). Sign in again.`);
  const tokens = await response.json();
  if (!tokens.id_token) throw new Error("Sign-in returned no identity token. Sign in again.");
  sessionStorage.setItem(TOKEN_KEY, tokens.id_token);
  return pending.returnTo && pending.returnTo.startsWith("/") && !pending.returnTo.startsWith("//")
    ? pending.returnTo
    : "/";
}

function decodePayload(token) {
  const part = token.split(".")[1] || "";
  const padded = part.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((part.length + 3) % 4);
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** Who a token's claims say is signed in, in the API's terms (see layers/s2s/principal.py). */
export function describeClaims(claims) {
  let org = claims.organisation;
  if (typeof org === "string") org = JSON.parse(org);
  org = org || {};
  const category = org.category && typeof org.category === "object" ? org.category.id : org.category;
  const la = org.localAuthority ? String(org.localAuthority.code || "") : "";
  const name = org.name || "";
  const base = { email: claims.email || "", name, la, sub: claims.sub || "" };
  if (String(category) === "001") {
    const laestab = `${la}${String(org.establishmentNumber || "")}`;
    return { ...base, kind: "school", org: laestab };
  }
  if (String(category) === "002") return { ...base, kind: "la", org: `${la}LLLL` };
  if (String(category) === "011") return { ...base, kind: "dfe", org: "DFE", la: "" };
  return { ...base, kind: "unknown", org: "" };
}

/** The signed-in user, or null when there is no token or it has expired. */
export function currentUser() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return null;
  try {
    const claims = decodePayload(token);
    if (typeof claims.exp === "number" && claims.exp * 1000 < Date.now()) {
      signOut();
      return null;
    }
    return { token, ...describeClaims(claims) };
  } catch {
    signOut();
    return null;
  }
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}
