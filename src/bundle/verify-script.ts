import {IMAGE_BLOBS} from './format.js'
import {ENTRY_NAME_CHARS} from './path-safety.js'

export interface VerifyScriptInput {
  root: string
  bundleFile: string
  signerIsCertificate: boolean
}

/** Every program VERIFY.txt runs besides the shell's own built-ins; README.md names the same list. */
export const VERIFY_SCRIPT_TOOLS = ['tar', 'openssl', 'sha256sum', 'mktemp', 'find', 'sed', 'grep', 'sort', 'uniq', 'cut', 'wc', 'cmp', 'cat', 'rm', 'mkdir', 'chmod'] as const

/**
 * VERIFY.txt: a POSIX sh script (dash, bash and busybox sh run it alike) that verifies a bundle with
 * standard tools and writes nothing outside a fresh private folder. Order, each step a gate:
 *   1. the trust anchor (TRUST key or TRUST_CA) is read first, into the private folder, so nothing
 *      the bundle holds can replace it;
 *   2. the archive is listed and refused unless every entry is a regular file or a folder under
 *      ROOT/, with no `..`, no absolute or odd names and no duplicates;
 *   3. only then is it extracted, into that folder, and anything extracted that is not a regular
 *      file with one link or a folder (a symlink, FIFO, device, hard link) is refused again, whatever
 *      the tar's listing format said;
 *   4. the signature over SHA256SUMS is checked with the trusted key (with TRUST_CA: the signer's
 *      chain, digitalSignature and the codeSigning EKU first);
 *   5. the files found must be exactly those SHA256SUMS lists, and each must match its line.
 * On any failure the folder is removed (trap); on success its path is printed.
 */
export function renderVerifyScript(input: VerifyScriptInput): string {
  const {root, bundleFile} = input
  const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`
  const anchor = input.signerIsCertificate
    ? [
        '# The signer is a certificate. With TRUST_CA (your CA, PEM) its chain is checked and its key used;',
        '# otherwise TRUST must be the signer public key you were given out of band.',
        'if [ -n "${TRUST_CA:-}" ]; then',
        '  [ -f "$TRUST_CA" ] || fail "TRUST_CA=$TRUST_CA is not a file"',
        '  cat -- "$TRUST_CA" > "$WORK/trust-ca.pem" || fail "cannot read TRUST_CA=$TRUST_CA"',
        'else',
        '  [ -f "${TRUST:-}" ] || fail "set TRUST to the trusted signer public key (PEM), or TRUST_CA to your CA certificate"',
        '  cat -- "$TRUST" > "$WORK/trust.pem" || fail "cannot read TRUST=$TRUST"',
        'fi',
      ]
    : [
        '[ -f "${TRUST:-}" ] || fail "set TRUST to the trusted signer public key (PEM) you received out of band"',
        'cat -- "$TRUST" > "$WORK/trust.pem" || fail "cannot read TRUST=$TRUST"',
      ]
  const chain = input.signerIsCertificate
    ? [
        'if [ -f "$WORK/trust-ca.pem" ]; then',
        '  # signer.pem holds the signer certificate first, then any intermediates',
        '  openssl x509 -in "$D/signer.pem" -out "$WORK/leaf.pem" || fail "signer.pem is not a certificate"',
        '  openssl verify -x509_strict -purpose any -CAfile "$WORK/trust-ca.pem" -untrusted "$D/signer.pem" "$WORK/leaf.pem" || fail "the signer certificate does not chain to TRUST_CA"',
        '  EXT=$(openssl x509 -in "$WORK/leaf.pem" -noout -ext keyUsage,extendedKeyUsage) || fail "cannot read the signer certificate extensions"',
        '  case "$EXT" in *"Digital Signature"*) ;; *) fail "the signer certificate lacks the digitalSignature key usage" ;; esac',
        '  case "$EXT" in *"Code Signing"*) ;; *) fail "the signer certificate lacks the codeSigning extended key usage" ;; esac',
        '  openssl x509 -in "$WORK/leaf.pem" -pubkey -noout > "$WORK/trust.pem" || fail "cannot take the key out of the signer certificate"',
        'fi',
      ]
    : []
  return [
    '#!/bin/sh',
    '# Verify this bundle by hand, offline, without airlock. Run it as',
    `#   TRUST=/path/to/signer.pub sh VERIFY.txt   (in the folder that holds ${bundleFile})`,
    '# where TRUST is the signer public key you received out of band, never one taken from the bundle.',
    '# Set BUNDLE if the file was renamed, TMPDIR to extract on another disk. It needs sh (dash, bash or',
    `# busybox sh) and ${VERIFY_SCRIPT_TOOLS.join(', ')}.`,
    '# It writes only into a new private folder (mktemp -d), removed again on any failure; on success it',
    '# prints that folder. Any failure means: do not use the bundle. Run nothing from the bundle before it',
    '# prints "bundle verified", not even the airlock executable it may carry at files/airlock.',
    '# This script came out of the unverified bundle: read it before you run it.',
    'set -eu',
    'umask 077',
    `BUNDLE="\${BUNDLE:-${bundleFile}}"`,
    `ROOT=${q(root)}`,
    'fail() { echo "NOT VERIFIED: $*" >&2; exit 1; }',
    'case "$BUNDLE" in /*) ;; *) BUNDLE="$PWD/$BUNDLE" ;; esac',
    '[ -f "$BUNDLE" ] || fail "$BUNDLE is not a file (set BUNDLE)"',
    '',
    '# 0. A private folder for everything this script writes, removed on failure or interruption.',
    'WORK=$(mktemp -d "${TMPDIR:-/tmp}/airlock-verify.XXXXXX") || fail "mktemp -d failed"',
    '# (a folder the bundle made read-only is opened up first, so that rm can empty it as any user)',
    'trap \'chmod -R u+rwx "$WORK" 2>/dev/null; rm -rf "$WORK"\' EXIT',
    "trap 'exit 2' HUP INT TERM",
    '',
    '# 1. The trust anchor first, copied into the private folder before a byte of the bundle is read.',
    ...anchor,
    '',
    '# 2. List the archive and refuse it unless every entry is a file or folder under $ROOT/, with a plain name.',
    'LC_ALL=C',
    'export LC_ALL',
    'tar -tf "$BUNDLE" > "$WORK/names" || fail "tar cannot list $BUNDLE"',
    'tar -tvf "$BUNDLE" > "$WORK/long" || fail "tar cannot list $BUNDLE"',
    '[ "$(wc -l < "$WORK/names")" -eq "$(wc -l < "$WORK/long")" ] || fail "the listing has entry names with line breaks"',
    "if cut -c1 \"$WORK/long\" | grep -v '^[-d]$' > /dev/null; then",
    "  grep -v '^[-d]' \"$WORK/long\" | sed 's/^/  /' >&2",
    '  fail "the archive holds entries that are not regular files or folders (links, FIFOs, devices)"',
    'fi',
    "if cut -c1-10 \"$WORK/long\" | grep '[sStT]' > /dev/null; then fail \"the archive holds set-user-ID, set-group-ID or sticky entries\"; fi",
    "if grep '^-.*/$' \"$WORK/long\" > /dev/null; then fail \"the archive holds a file entry named like a folder (a trailing /)\"; fi",
    'while IFS= read -r name; do',
    '  case "$name" in "$ROOT" | "$ROOT/" | "$ROOT"/?*) ;; *) fail "entry outside $ROOT/: $name" ;; esac',
    '  case "/${name%/}/" in */../* | */./* | *//*) fail "entry with a . or .. or empty segment: $name" ;; esac',
    `  case "$name" in *[!${ENTRY_NAME_CHARS.replace(' ', '\\ ')}]*) fail "entry with an unexpected character in its name: $name" ;; esac`,
    'done < "$WORK/names"',
    '# the same name twice, also in another case (one file on a case-insensitive disk)',
    "DUP=$(sed 's|/*$||' \"$WORK/names\" | sort -f | uniq -di)",
    '[ -z "$DUP" ] || fail "entries appear twice: $DUP"',
    '',
    '# 3. Extract into the private folder only, and check again what is on disk: regular files with one link, and folders.',
    'mkdir "$WORK/x"',
    '(cd "$WORK/x" && tar -xf "$BUNDLE") || fail "tar cannot extract $BUNDLE"',
    'D="$WORK/x/$ROOT"',
    'ODD=$(find "$WORK/x" ! -type f ! -type d)',
    '[ -z "$ODD" ] || fail "extracted entries that are not regular files or folders: $ODD"',
    'LINKED=$(find "$WORK/x" -type f -links +1)',
    '[ -z "$LINKED" ] || fail "extracted hard links: $LINKED"',
    '',
    '# 4. The signature over SHA256SUMS must verify with the key you trust ("Verified OK").',
    ...chain,
    'openssl dgst -sha256 -verify "$WORK/trust.pem" -signature "$D/SHA256SUMS.sig" "$D/SHA256SUMS" || fail "the signature over SHA256SUMS does not verify with the trusted key"',
    '',
    '# 5. Exactly the files SHA256SUMS lists, each matching its line.',
    "if grep -v '^[0-9a-f]\\{64\\} [ *][^/]' \"$D/SHA256SUMS\" > /dev/null; then fail \"SHA256SUMS has malformed lines\"; fi",
    '# an image blob is named by its own digest',
    `if grep '^[0-9a-f]\\{64\\} [ *]${IMAGE_BLOBS}' "$D/SHA256SUMS" | grep -v '^\\([0-9a-f]\\{64\\}\\) [ *]${IMAGE_BLOBS}\\1$' > /dev/null; then fail "SHA256SUMS lists an image blob under another digest than its name"; fi`,
    "sed 's/^[0-9a-f]\\{64\\} [ *]//' \"$D/SHA256SUMS\" | sort > \"$WORK/listed\"",
    "(cd \"$D\" && find . ! -type d) | sed 's|^\\./||' | grep -v -x -e SHA256SUMS -e SHA256SUMS.sig -e signer.pem | sort > \"$WORK/found\" || true",
    'if ! cmp -s "$WORK/listed" "$WORK/found"; then',
    "  grep -v -x -F -f \"$WORK/listed\" \"$WORK/found\" | sed 's/^/  not listed: /' >&2 || true",
    "  grep -v -x -F -f \"$WORK/found\" \"$WORK/listed\" | sed 's/^/  missing: /' >&2 || true",
    '  fail "the files in the bundle are not exactly those SHA256SUMS lists"',
    'fi',
    '# and no folder but those the listed files are in (a folder entry is signed by nothing)',
    'cat "$WORK/listed" > "$WORK/p"',
    ': > "$WORK/parents"',
    "while [ -s \"$WORK/p\" ]; do sed -n 's|/[^/]*$||p' \"$WORK/p\" > \"$WORK/q\"; cat \"$WORK/q\" >> \"$WORK/parents\"; cat \"$WORK/q\" > \"$WORK/p\"; done",
    "EXTRA=$( (cd \"$D\" && find . -type d) | sed 's|^\\./||' | grep -v -x -F -e . | grep -v -x -F -f \"$WORK/parents\" || true)",
    '[ -z "$EXTRA" ] || fail "folders that hold no file SHA256SUMS lists: $EXTRA"',
    '(cd "$D" && sha256sum -c SHA256SUMS) > "$WORK/checked" 2>&1 || { grep -v \': OK$\' "$WORK/checked" >&2; fail "files do not match SHA256SUMS"; }',
    '',
    'trap - EXIT',
    'echo "bundle verified: $ROOT"',
    'echo "verified files: $D"',
    '',
  ].join('\n')
}
