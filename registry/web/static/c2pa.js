// C2PA Content Credentials, read and validated in this browser by @contentauth/c2pa-web
// (c2pa-rs compiled to WebAssembly, served by this registry from vendor/c2pa/: ADR 0013).
// The verdict follows the hub's own rules (verifier/provenance/c2pa.py): no remote manifest
// fetch, the hub's trust anchors as the only trust list, the active manifest must be
// Trusted with no failure, and every ingredient must validate (a derivative of a tampered
// parent validates at the top level and fails only in its ingredient's results).

const HERE = new URL(".", import.meta.url);
const VENDOR = new URL("vendor/c2pa/", HERE);
const ANCHORS = new URL("../verify/c2pa-anchors.pem", HERE);

let sdk = null;

/** Thrown when this server ships no C2PA reader (npm was missing when it was set up). */
export class C2paUnavailable extends Error {}

async function anchors() {
  const response = await fetch(ANCHORS, { credentials: "same-origin" });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`the hub's C2PA trust anchors: HTTP ${response.status}`);
  const text = await response.text();
  return text.includes("-----BEGIN CERTIFICATE-----") ? text : null;
}

async function load() {
  if (sdk) return sdk;
  let module;
  try {
    module = await import(new URL("index.js", VENDOR).href);
  } catch {
    throw new C2paUnavailable("this server was set up without the C2PA reader (npm was missing)");
  }
  const pem = await anchors();
  const settings = {
    verify: {
      verifyAfterReading: true,
      verifyTrust: pem !== null,
      remoteManifestFetch: false,
      ocspFetch: false,
    },
  };
  if (pem !== null) settings.trust = { trustAnchors: pem };
  const c2pa = await module.createC2pa({ wasmSrc: new URL("c2pa_bg.wasm", VENDOR).href, settings });
  sdk = { c2pa, trustList: pem !== null, supported: module.isSupportedReaderFormat };
  return sdk;
}

function statusList(data, kind) {
  const list = data && typeof data === "object" ? data[kind] : null;
  return Array.isArray(list)
    ? list
        .filter((e) => e && typeof e === "object")
        .map((e) => ({ code: String(e.code || ""), url: String(e.url || ""), explanation: String(e.explanation || "") }))
    : [];
}

const family = (code) => code.split(".", 1)[0];

function recordedFailures(results) {
  if (!results || typeof results !== "object") return [];
  const found = statusList(results.activeManifest, "failure");
  for (const delta of results.ingredientDeltas || []) {
    if (delta && typeof delta === "object") found.push(...statusList(delta.validationDeltas, "failure"));
  }
  return found;
}

/** Each ingredient's standing failures, as ``verifier.provenance.c2pa._ingredients`` finds them. */
export function ingredientResults(manifest, activeLabel, deltas) {
  const byUri = new Map();
  for (const delta of deltas || []) {
    if (delta && typeof delta === "object") byUri.set(String(delta.ingredientAssertionURI || ""), delta.validationDeltas);
  }
  const results = [];
  for (const ingredient of manifest.ingredients || []) {
    if (!ingredient || typeof ingredient !== "object") continue;
    const label = String(ingredient.label || "");
    const suffix = `/${activeLabel}/c2pa.assertions/${label}`;
    let delta = null;
    for (const [uri, codes] of byUri) if (uri.endsWith(suffix)) delta = codes;
    const redecided = new Set(statusList(delta, "success").map((s) => `${family(s.code)} ${s.url}`));
    const recorded = ingredient.validation_results;
    const failures = recordedFailures(recorded).filter((f) => !redecided.has(`${family(f.code)} ${f.url}`));
    failures.push(...statusList(delta, "failure"));
    const hasResults =
      (recorded !== undefined && recorded !== null) ||
      ["success", "informational", "failure"].some((k) => statusList(delta, k).length);
    if (ingredient.active_manifest && !hasResults) {
      failures.push({ code: "custody.ingredient.unvalidated", url: label, explanation: "the ingredient has a manifest but no validation results" });
    }
    results.push({
      title: String(ingredient.title || ""),
      relationship: String(ingredient.relationship || ""),
      manifest: ingredient.active_manifest || null,
      failures,
    });
  }
  return results;
}

function actionsOf(manifest) {
  const actions = [];
  for (const assertion of manifest.assertions || []) {
    if (!assertion || String(assertion.label || "").split(".v")[0] !== "c2pa.actions") continue;
    for (const action of (assertion.data && assertion.data.actions) || []) {
      if (action && action.action) actions.push(String(action.action));
    }
  }
  return actions;
}

function generatorOf(manifest) {
  if (manifest.claim_generator) return String(manifest.claim_generator);
  const info = Array.isArray(manifest.claim_generator_info) ? manifest.claim_generator_info : [];
  return info.map((g) => [g.name, g.version].filter(Boolean).join(" ")).filter(Boolean).join(", ") || null;
}

/** The hub's verdict on a manifest store (``verify_c2pa``'s order of checks). */
export function judge(store, trustList) {
  const activeLabel = store.active_manifest;
  const manifests = store.manifests || {};
  const manifest = typeof activeLabel === "string" ? manifests[activeLabel] : null;
  if (!manifest) return { verdict: "invalid", codes: ["no active manifest"], ingredients: [] };
  const validation = store.validation_results || {};
  const failures = statusList(validation.activeManifest, "failure");
  const state = String(store.validation_state || "");
  const signature = manifest.signature_info || {};
  const result = {
    label: activeLabel,
    state,
    signer: signature.common_name || null,
    issuer: signature.issuer || null,
    signedAt: signature.time || null,
    generator: generatorOf(manifest),
    title: manifest.title || null,
    actions: actionsOf(manifest),
    ingredients: ingredientResults(manifest, activeLabel, validation.ingredientDeltas),
    codes: failures.map((f) => f.code),
    trustList,
  };
  const expected = trustList ? "Trusted" : "Valid";
  if (failures.length || state !== expected) {
    if (!result.codes.length) result.codes = [`validation_state:${state || "none"}`];
    const untrusted = failures.length && failures.every((f) => f.code.startsWith("signingCredential."));
    return { ...result, verdict: untrusted ? "untrusted" : "invalid" };
  }
  const broken = result.ingredients.filter((i) => i.failures.length);
  if (broken.length) {
    return { ...result, verdict: "ingredient-invalid", codes: broken.flatMap((i) => i.failures.map((f) => f.code)) };
  }
  return { ...result, verdict: "valid" };
}

/** Read and judge ``file``'s Content Credentials here; ``null`` when it carries none. */
export async function readCredentials(file) {
  const { c2pa, trustList, supported } = await load();
  if (!supported(file.type)) return { verdict: "unsupported", type: file.type || "unknown" };
  let reader;
  try {
    reader = await c2pa.reader.fromBlob(file.type, file);
  } catch (error) {
    // Remote manifest fetching is off (as on the hub): such credentials are refused, unread.
    const remote = /^C2pa\(RemoteManifest\w*\("?([^")]*)/.exec(String((error && error.message) || error));
    if (remote) return { verdict: "remote", url: remote[1] };
    throw error;
  }
  if (reader === null) return null;
  try {
    return judge(await reader.manifestStore(), trustList);
  } finally {
    await reader.free();
  }
}
