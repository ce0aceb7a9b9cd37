// The provenance page (/ui/-/verify): check an image against this hub without sending it.
//
// The image is hashed here (WebCrypto SHA-256); only its digest goes to the hub
// (GET /api/v1/outputs/{digest}, and GET /api/v1/log/key unless a key is pinned). The
// hub's answer is believed only once its log receipt verifies here, as
// verifier/transparency does it: the C2SP signed-note signature of the checkpoint under
// the log key (Ed25519), the RFC 9162 inclusion proof of the logged entry against the
// checkpoint's root, and the entry naming this digest. No dependencies, no build step.
"use strict";

const HASH_SIZE = 32;
const ED25519 = 0x01;
const MAX_PROOF_HASHES = 64;
const MAX_NOTE_BYTES = 1024 * 1024;
const MAX_SIGNATURES = 100;
const DASH = "\u2014 ";
const encoder = new TextEncoder();

/** A failed check: ``check`` names it (as the CLI's ``FAILED [check]`` line does). */
export class CheckFailed extends Error {
  constructor(check, message) {
    super(message);
    this.name = "CheckFailed";
    this.check = check;
  }
}

// -- bytes ------------------------------------------------------------------------------

async function sha256(...parts) {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const joined = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(text, check, what) {
  if (typeof text !== "string" || !/^(?:[0-9a-fA-F]{2})*$/.test(text)) {
    throw new CheckFailed(check, `${what} is not hex`);
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function hexHash(text, check, what) {
  if (typeof text !== "string" || text.length !== 2 * HASH_SIZE) {
    throw new CheckFailed(check, `${what} must be ${2 * HASH_SIZE} hex digits`);
  }
  return fromHex(text, check, what);
}

/** Strict base64 (as Python's ``b64decode(validate=True)``): alphabet, padding, nothing else. */
function fromBase64(text, check, what) {
  if (typeof text !== "string" || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new CheckFailed(check, `${what} is not base64`);
  }
  const raw = atob(text);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i += 1) diff |= a[i] ^ b[i];
  return diff === 0;
}

function nonNegativeInt(value, what) {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new CheckFailed("receipt", `${what} must be a non-negative integer`);
  }
  return value;
}

// -- RFC 9162 Merkle tree (section 2.1) ---------------------------------------------------

/** SHA-256(0x00 || entry): the hash of one log entry. */
export function leafHash(entry) {
  return sha256(Uint8Array.of(0), entry);
}

/** SHA-256(0x01 || left || right): an interior node. */
export function nodeHash(left, right) {
  return sha256(Uint8Array.of(1), left, right);
}

function checkHashes(hashes, what) {
  if (hashes.length > MAX_PROOF_HASHES) {
    throw new CheckFailed("inclusion proof", `${what} has ${hashes.length} hashes; no tree is that deep`);
  }
  for (const item of hashes) {
    if (!(item instanceof Uint8Array) || item.length !== HASH_SIZE) {
      throw new CheckFailed("inclusion proof", `${what} holds a value that is not a ${HASH_SIZE}-byte hash`);
    }
  }
}

/** The root an inclusion proof leads to from ``leaf`` at ``index`` (RFC 9162, 2.1.3.2). */
export async function rootFromInclusionProof(index, treeSize, leaf, proof) {
  let fn = BigInt(index);
  let sn = BigInt(treeSize) - 1n;
  if (fn < 0n || fn > sn) {
    throw new CheckFailed("inclusion proof", `leaf index ${index} is outside a tree of size ${treeSize}`);
  }
  checkHashes([leaf], "leaf hash");
  checkHashes(proof, "inclusion proof");
  let result = leaf;
  for (const sibling of proof) {
    if (sn === 0n) {
      throw new CheckFailed("inclusion proof", "inclusion proof is longer than the tree is deep");
    }
    if ((fn & 1n) === 1n || fn === sn) {
      result = await nodeHash(sibling, result);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      result = await nodeHash(result, sibling);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) {
    throw new CheckFailed("inclusion proof", "inclusion proof is shorter than the tree is deep");
  }
  return result;
}

/** Check that ``leaf`` is entry ``index`` of the tree of ``treeSize`` with ``root``. */
export async function verifyInclusion(index, treeSize, leaf, proof, root) {
  const computed = await rootFromInclusionProof(index, treeSize, leaf, proof);
  if (!equalBytes(computed, root)) {
    throw new CheckFailed(
      "inclusion proof",
      `inclusion proof for entry ${index} does not lead to the root of tree size ${treeSize}`,
    );
  }
}

// -- C2SP signed notes and checkpoints ------------------------------------------------------

function validKeyName(name) {
  return name.length > 0 && !name.includes("+") && !/\s/u.test(name);
}

async function keyId(name, publicKey) {
  const digest = await sha256(encoder.encode(name), Uint8Array.of(0x0a, ED25519), publicKey);
  return new DataView(digest.buffer).getUint32(0);
}

/** ``<name>+<hex key ID>+<base64(0x01 || key)>``; the key ID is recomputed, never believed. */
export async function parseVerifierKey(text) {
  const trimmed = String(text).trim();
  const first = trimmed.indexOf("+");
  const second = first < 0 ? -1 : trimmed.indexOf("+", first + 1);
  if (second < 0) {
    throw new CheckFailed("log key", "a verifier key is <name>+<hex key ID>+<base64 key>");
  }
  const name = trimmed.slice(0, first);
  const hexId = trimmed.slice(first + 1, second);
  if (!validKeyName(name)) throw new CheckFailed("log key", `invalid key name ${JSON.stringify(name)}`);
  if (!/^[0-9a-f]{8}$/.test(hexId)) {
    throw new CheckFailed("log key", "the key ID must be 8 lower-case hex digits");
  }
  const raw = fromBase64(trimmed.slice(second + 1), "log key", "the verifier key");
  if (raw.length !== 33 || raw[0] !== ED25519) {
    throw new CheckFailed("log key", "only Ed25519 verifier keys (type 0x01, 32 bytes) are supported");
  }
  const publicKey = raw.slice(1);
  const id = parseInt(hexId, 16);
  if ((await keyId(name, publicKey)) !== id) {
    throw new CheckFailed("log key", "the key ID does not match the key name and public key");
  }
  return { name, keyId: id, publicKey, text: trimmed };
}

/** Verify a note signed by ``key``; return its text (everything before the signatures). */
export async function openNote(note, key) {
  if (typeof note !== "string") throw new CheckFailed("checkpoint", "the checkpoint is not text");
  if (encoder.encode(note).length > MAX_NOTE_BYTES) {
    throw new CheckFailed("checkpoint", `note exceeds ${MAX_NOTE_BYTES} bytes`);
  }
  const cut = note.lastIndexOf("\n\n");
  if (cut < 0) throw new CheckFailed("checkpoint", "a signed note needs a blank line before its signatures");
  const text = note.slice(0, cut + 1);
  const block = note.slice(cut + 2);
  if (!block.endsWith("\n")) throw new CheckFailed("checkpoint", "a signed note must end with a newline");
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) {
    throw new CheckFailed("checkpoint", `more than ${MAX_SIGNATURES} signatures on one note`);
  }
  if (/[\u0000-\u0009\u000b-\u001f]/u.test(text)) {
    throw new CheckFailed("checkpoint", "note text holds control characters");
  }
  const verifying = await crypto.subtle.importKey("raw", key.publicKey, { name: "Ed25519" }, false, [
    "verify",
  ]);
  for (const line of lines) {
    if (!line.startsWith(DASH)) {
      throw new CheckFailed("checkpoint", "a signature line must start with an em dash and a space");
    }
    const rest = line.slice(DASH.length);
    const space = rest.indexOf(" ");
    const name = space < 0 ? rest : rest.slice(0, space);
    if (space < 0 || !validKeyName(name)) {
      throw new CheckFailed("checkpoint", `malformed signature line ${JSON.stringify(line.slice(0, 80))}`);
    }
    const raw = fromBase64(rest.slice(space + 1), "checkpoint", `signature of ${name}`);
    if (raw.length < 5) throw new CheckFailed("checkpoint", `signature of ${name} is too short`);
    const claimed = new DataView(raw.buffer).getUint32(0);
    if (name !== key.name || claimed !== key.keyId) continue; // a witness: not ours to judge
    const good = await crypto.subtle.verify({ name: "Ed25519" }, verifying, raw.slice(4), encoder.encode(text));
    if (!good) {
      throw new CheckFailed("checkpoint signature", `the signature by ${key.name} does not verify over the note`);
    }
    return text;
  }
  throw new CheckFailed("checkpoint signature", `the note carries no signature by ${key.name}`);
}

/** Parse the text of a checkpoint: origin, tree size, root hash, extension lines. */
export function parseCheckpoint(text) {
  if (!text.endsWith("\n")) throw new CheckFailed("checkpoint", "checkpoint text must end with a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) {
    throw new CheckFailed("checkpoint", "a checkpoint has an origin, a tree size and a root hash");
  }
  const [origin, size, root] = lines;
  if (!origin) throw new CheckFailed("checkpoint", "the checkpoint's origin line is empty");
  if (!/^(0|[1-9][0-9]{0,19})$/.test(size) || BigInt(size) >= 2n ** 63n) {
    throw new CheckFailed("checkpoint", `invalid tree size ${JSON.stringify(size.slice(0, 40))}`);
  }
  const rootHash = fromBase64(root, "checkpoint", "the checkpoint's root hash");
  if (rootHash.length !== HASH_SIZE) throw new CheckFailed("checkpoint", `the root hash must be ${HASH_SIZE} bytes`);
  const extensions = lines.slice(3);
  if (extensions.some((line) => !line)) throw new CheckFailed("checkpoint", "empty extension line in the checkpoint");
  return { origin, treeSize: BigInt(size), rootHash, extensions };
}

/** A checkpoint signed by ``key`` whose origin is the key's name. */
export async function verifyCheckpoint(note, key) {
  const checkpoint = parseCheckpoint(await openNote(note, key));
  if (checkpoint.origin !== key.name) {
    throw new CheckFailed(
      "checkpoint",
      `checkpoint origin ${JSON.stringify(checkpoint.origin)} is not the log ${JSON.stringify(key.name)}`,
    );
  }
  return checkpoint;
}

/** A receipt (signed checkpoint + inclusion proof), bound to the entry's own bytes. */
export async function verifyReceipt(receipt, key, entry) {
  if (!receipt || typeof receipt !== "object" || Array.isArray(receipt)) {
    throw new CheckFailed("receipt", "a receipt is a JSON object");
  }
  if (typeof receipt.checkpoint !== "string") throw new CheckFailed("receipt", "the receipt carries no checkpoint note");
  const checkpoint = await verifyCheckpoint(receipt.checkpoint, key);
  const index = nonNegativeInt(receipt.logIndex, "logIndex");
  const treeSize = nonNegativeInt(receipt.treeSize, "treeSize");
  const leaf = hexHash(receipt.leafHash, "receipt", "leafHash");
  let root = new Uint8Array(0);
  try {
    root = fromBase64(receipt.rootHash, "receipt", "rootHash");
  } catch {
    // compared below: a root that does not decode differs from the checkpoint's
  }
  if (BigInt(treeSize) !== checkpoint.treeSize || !equalBytes(root, checkpoint.rootHash)) {
    throw new CheckFailed("receipt", "the receipt's tree size or root hash differs from its checkpoint");
  }
  if (entry !== undefined && !equalBytes(await leafHash(entry), leaf)) {
    throw new CheckFailed("leaf hash", "the receipt's leaf hash is not the hash of this entry");
  }
  if (!Array.isArray(receipt.inclusionProof)) {
    throw new CheckFailed("inclusion proof", "inclusionProof must be a list of hex hashes");
  }
  const hashes = receipt.inclusionProof.map((h) => hexHash(h, "inclusion proof", "an inclusion proof hash"));
  await verifyInclusion(index, treeSize, leaf, hashes, checkpoint.rootHash);
  return { logIndex: index, treeSize, leafHash: leaf, checkpoint };
}

// -- the hub ------------------------------------------------------------------------------

/** ``sha256:<hex>`` of the file's bytes, computed here. */
export async function imageDigest(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  return `sha256:${toHex(await sha256(bytes))}`;
}

async function fetchLogKey(pinned) {
  if (pinned) return { key: await parseVerifierKey(pinned), pinned: true };
  const answer = await fetch("/api/v1/log/key", { credentials: "omit", cache: "no-store" });
  if (!answer.ok) throw new CheckFailed("fetch", `the log key could not be fetched (HTTP ${answer.status})`);
  return { key: await parseVerifierKey(await answer.text()), pinned: false };
}

async function fetchAttribution(digest) {
  const answer = await fetch(`/api/v1/outputs/${digest}`, {
    credentials: "omit",
    cache: "no-store",
    headers: { Accept: "application/json" },
  });
  if (answer.status === 404) return null;
  if (!answer.ok) throw new CheckFailed("fetch", `the hub did not answer (HTTP ${answer.status})`);
  try {
    return await answer.json();
  } catch {
    throw new CheckFailed("hub answer", "the hub's answer is not JSON");
  }
}

/** Everything the page shows about ``digest``: ``{registered: false}`` or the checked view. */
export async function check(digest, pinnedKey) {
  const [view, log] = await Promise.all([fetchAttribution(digest), fetchLogKey(pinnedKey)]);
  if (view === null) return { registered: false, digest };
  if (!view || typeof view !== "object" || view.image_digest !== digest) {
    throw new CheckFailed("hub answer", `the hub answered about ${JSON.stringify(view && view.image_digest)}`);
  }
  if (typeof view.entry !== "string") throw new CheckFailed("hub answer", "the answer carries no logged entry");
  const receipt = await verifyReceipt(view.receipt, log.key, encoder.encode(view.entry));
  let logged;
  try {
    logged = JSON.parse(view.entry);
  } catch {
    throw new CheckFailed("entry", "the logged entry is not JSON");
  }
  if (!logged || typeof logged !== "object" || logged.image !== digest) {
    throw new CheckFailed("entry", `the logged entry is not about ${digest}`);
  }
  // What the log itself vouches for must be what the page shows.
  const shown = [
    ["creator", view.creator, logged.creator],
    ["kind", view.kind, logged.kind],
    ["model", view.model && view.model.reference, logged.model],
  ];
  for (const [what, said, loggedValue] of shown) {
    if (said !== loggedValue) {
      throw new CheckFailed("entry", `the hub's ${what} ${JSON.stringify(said)} is not the logged ${JSON.stringify(loggedValue)}`);
    }
  }
  if (receipt.logIndex !== view.log_index || toHex(receipt.leafHash) !== view.leaf_hash) {
    throw new CheckFailed("hub answer", "the log index or leaf hash shown differs from the receipt's");
  }
  return { registered: true, digest, view, receipt, logged, key: log.key, pinned: log.pinned };
}

// -- the page -----------------------------------------------------------------------------

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function facts(rows) {
  const list = el("dl", { class: "facts" });
  for (const [term, value] of rows) list.append(el("dt", null, term), el("dd", null, value));
  return list;
}

function code(text) {
  return el("code", { class: "digest", title: text }, text);
}

function chainSummary(chain) {
  if (!chain || !chain.records) {
    return `no latent chain: the final latent is the creator's claim (key ${chain ? chain.creatorKey : "?"})`;
  }
  const steps = Array.isArray(chain.steps) && chain.steps.length ? `, steps ${chain.steps.join("–")}` : "";
  const nodes = Array.isArray(chain.nodes) ? chain.nodes.join(", ") : "";
  return `${chain.records} signed latent records${steps}; sampler ${chain.sampler}, scheduler ${chain.scheduler}, guidance ${chain.guidance}; rendered by ${nodes}; creator key ${chain.creatorKey}`;
}

function showRegistered(out, result) {
  const { view, receipt, key, pinned } = result;
  const model = view.model;
  const reprints = view.reprints.length
    ? el(
        "ul",
        { class: "reprints" },
        ...view.reprints.map((r) =>
          el("li", null, `${r.reprinter} (${r.via}, ${r.created_at}, log index ${r.log_index}) `, code(r.image_digest)),
        ),
      )
    : "none";
  out.replaceChildren(
    el("h2", { class: "ok" }, "Registered: inclusion proof checked"),
    el(
      "p",
      null,
      `This image is entry ${receipt.logIndex} of the transparency log. Its inclusion proof and the log's signed checkpoint (tree size ${receipt.treeSize}) were checked in this browser.`,
    ),
    facts([
      ["Image", code(result.digest)],
      ["Creator", view.creator],
      ["Licence", view.license],
      ["Reprint terms", view.terms.length ? view.terms.join(", ") : "none"],
      ["Model", code(model.reference)],
      ["Model version", model.version === null ? "no longer in the registry" : model.version],
      [
        "Model signature today",
        `${model.signature_verified ? "verifies" : "DOES NOT verify"} under the registry's trust policy (the hub's answer)${model.signers.length ? `; signed by ${model.signers.join(", ")}` : ""}`,
      ],
      ["Latent chain", chainSummary(view.chain)],
      ["First registered", view.first_registered_at],
      ["Log index", String(receipt.logIndex)],
      ["Inclusion proof", `checked against the checkpoint of tree size ${receipt.treeSize}`],
      ["Log key", `${key.name}+${key.keyId.toString(16).padStart(8, "0")} (${pinned ? "pinned" : "fetched from this hub, not pinned"})`],
      ["Reprints", reprints],
    ]),
    el(
      "p",
      { class: "sub" },
      "The log vouches for the image digest, creator and model (its entry names them). Licence, terms, reprints and the model's signature status today are the hub's word.",
    ),
  );
}

function showUnregistered(out, digest) {
  out.replaceChildren(
    el("h2", { class: "unknown" }, "Not registered: nothing is known about this image"),
    facts([
      ["Known", el("span", null, "its SHA-256, computed in this browser: ", code(digest))],
      [
        "Not known",
        "who made it, with which model, under which licence: no output with these exact bytes is registered with this hub.",
      ],
    ]),
    el(
      "p",
      null,
      "A copy changed by even one byte (re-encoded, resized, cropped) has another digest and is not found here. Content Credentials (C2PA) embedded in the file are shown below: they were read in this browser.",
    ),
  );
}

function showRefusal(out, error) {
  const checkName = error instanceof CheckFailed ? error.check : "page";
  out.replaceChildren(
    el("h2", { class: "refused" }, `Refused: the ${checkName} check failed`),
    el("p", { class: "reason" }, error.message),
    el("p", null, "Nothing the hub said about this image is shown: its answer could not be verified."),
  );
  out.dataset.failed = checkName;
}

const C2PA_HEADINGS = {
  valid: ["ok", "Content Credentials valid"],
  untrusted: ["refused", "Content Credentials: signer not trusted"],
  invalid: ["refused", "Content Credentials invalid"],
  "ingredient-invalid": ["refused", "Warning: an ingredient's Content Credentials failed validation"],
};

function showCredentials(box, result) {
  const [kind, title] = C2PA_HEADINGS[result.verdict];
  const trust = result.trustList
    ? "checked here against this hub's C2PA trust list"
    : "not checked here: this hub publishes no C2PA trust list, so trust is the hub's to check";
  const ingredients = result.ingredients.length
    ? el(
        "ul",
        null,
        ...result.ingredients.map((i) =>
          el(
            "li",
            { class: i.failures.length ? "refused" : "ok" },
            `${i.title || i.manifest || "untitled"} (${i.relationship || "ingredient"}): `,
            i.failures.length ? `FAILED ${i.failures.map((f) => f.code).join(", ")}` : "validated",
          ),
        ),
      )
    : "none";
  const rows = [
    ["Signer", result.signer ? `${result.signer}${result.issuer ? `, issued by ${result.issuer}` : ""}` : "not named"],
    ["Claim generator", result.generator || "not named"],
    ["Actions", result.actions.length ? result.actions.join(", ") : "none"],
    ["Validation state", `${result.state || "none"}; trust ${trust}`],
    ["Ingredients", ingredients],
  ];
  if (result.signedAt) rows.splice(1, 0, ["Signed at", result.signedAt]);
  if (result.codes.length) rows.push(["Failure codes", code(result.codes.join(", "))]);
  const notes = {
    valid: "The manifest and every ingredient validate: the hub reaches the same verdict before it accepts such an image.",
    untrusted: "The credentials are intact but their signer does not chain to this hub's C2PA trust list: the hub refuses them.",
    invalid: "The credentials do not validate (the image or its manifest was changed after signing): the hub refuses them.",
    "ingredient-invalid":
      "The image's own manifest validates, but an image it was made from was altered after it was signed (a tampered ingredient): the hub refuses it.",
  };
  box.replaceChildren(el("h2", { class: kind }, title), facts(rows), el("p", { class: "sub" }, notes[result.verdict]));
}

async function credentials(file, box) {
  box.dataset.state = "checking";
  box.replaceChildren(el("h2", null, "Content Credentials"), el("p", null, "Reading them in this browser…"));
  try {
    const { readCredentials, C2paUnavailable } = await import("./c2pa.js");
    let result;
    try {
      result = await readCredentials(file);
    } catch (error) {
      if (error instanceof C2paUnavailable) {
        box.replaceChildren(
          el("h2", { class: "unknown" }, "Content Credentials: C2PA reading is unavailable"),
          el("p", null, `${error.message}. The hub still validates them when an image is registered.`),
        );
        box.dataset.state = "unavailable";
        return;
      }
      throw error;
    }
    if (result === null) {
      box.replaceChildren(
        el("h2", { class: "unknown" }, "No Content Credentials"),
        el("p", null, "This image carries no C2PA manifest."),
      );
      box.dataset.state = "none";
    } else if (result.verdict === "remote") {
      box.replaceChildren(
        el("h2", { class: "refused" }, "Content Credentials are remote: fetching them is refused"),
        facts([["Manifest named at", code(result.url || "an unnamed address")]]),
        el("p", null, "The image does not embed its C2PA manifest; like the hub, this page does not fetch it from elsewhere."),
      );
      box.dataset.state = "remote";
    } else if (result.verdict === "unsupported") {
      box.replaceChildren(
        el("h2", { class: "unknown" }, "No Content Credentials read"),
        el("p", null, `The C2PA reader does not read ${result.type} files.`),
      );
      box.dataset.state = "none";
    } else {
      showCredentials(box, result);
      box.dataset.state = result.verdict;
    }
  } catch (error) {
    box.replaceChildren(
      el("h2", { class: "refused" }, "Content Credentials could not be read"),
      el("p", { class: "reason" }, String((error && error.message) || error)),
    );
    box.dataset.state = "error";
  }
}

async function run(file, out, pinned, box) {
  const reading = box ? credentials(file, box) : Promise.resolve();
  out.dataset.state = "checking";
  delete out.dataset.failed;
  out.replaceChildren(el("h2", null, "Checking…"), el("p", null, `Hashing ${file.name} in this browser.`));
  try {
    if (!globalThis.crypto || !crypto.subtle) {
      throw new CheckFailed("page", "this browser offers no WebCrypto here (open the page over https)");
    }
    const digest = await imageDigest(file);
    const result = await check(digest, pinned);
    if (result.registered) showRegistered(out, result);
    else showUnregistered(out, digest);
    out.dataset.state = result.registered ? "registered" : "unregistered";
  } catch (error) {
    showRefusal(out, error);
    out.dataset.state = "refused";
  }
  await reading;
}

function wire() {
  const input = document.getElementById("verify-image");
  const zone = document.getElementById("verify-drop");
  const out = document.getElementById("verdict");
  const pin = document.getElementById("verify-log-key");
  const box = document.getElementById("c2pa");
  if (!input || !zone || !out) return;
  const start = (file) => file && run(file, out, pin && pin.value.trim(), box);
  input.addEventListener("change", () => start(input.files[0]));
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    start(event.dataTransfer && event.dataTransfer.files[0]);
  });
}

if (typeof document !== "undefined") wire();
