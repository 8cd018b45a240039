import {z} from 'zod'

/*
 * The bundle spec (DESIGN.md). Every object is strict: an unknown key is an error naming its path,
 * because a misspelt key silently ignored is a bundle built wrong.
 */

const NAME = /^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$/
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/
const PLATFORM = /^(all|[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?)$/
const SHA256 = /^(sha256:)?[0-9a-f]{64}$/
/** a bundle path segment chain: letters, digits, . _ - and / between them */
const SAFE_REL = /^(?!.*(^|\/)\.{1,2}(\/|$))[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/

export const platformSchema = z.string().regex(PLATFORM, 'a platform like linux/amd64, linux/arm64/v8, or "all"')

/** Upstream signature check at build (docs/supply-chain.md): a cosign public key, relative to the spec. */
export const verifySchema = z.strictObject({
  cosignKey: z.string().min(1, 'the path of the publisher\'s cosign public key (PEM)'),
})

export const imageSchema = z.union([
  z.string().min(1, 'an image reference'),
  z.strictObject({
    ref: z.string().min(1, 'an image reference'),
    platforms: z.array(platformSchema).min(1).optional(),
    verify: verifySchema.optional(),
    /** leave this image's signatures, attestations and SBOMs out of the bundle */
    excludeReferrers: z.boolean().optional(),
  }),
])

export const fileSchema = z.strictObject({
  /** a name for `bundle build --set files.<id>=PATH`, which replaces `source` at build time */
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, "_" and "-"').optional(),
  source: z.string().min(1, 'a local path, https:// URL or s3:// URL'),
  as: z.string().regex(SAFE_REL, 'a relative name of letters, digits, ".", "_", "-" and "/" (no "..")'),
  sha256: z.string().regex(SHA256, 'sha256: and 64 lower-case hex digits').optional(),
  executable: z.boolean().optional(),
})

/** Editions, tiers and ingress modes are the profile's data: src/kots checks them against it. */
export const kotsSchema = z
  .strictObject({
    edition: z.string().min(1).optional(),
    cores: z.number().int().positive().optional(),
    size: z.number().int().positive().optional(),
    domain: z.string().min(1).optional(),
    ingressMode: z.string().min(1).optional(),
    /** ITEM: VALUE overrides, like --set; true/false become "1"/"0" */
    values: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a KOTS item name'), z.union([z.string(), z.number(), z.boolean()])).default({}),
    /** the application's KOTS Config YAML or .airgap, relative to the spec */
    appConfig: z.string().min(1).optional(),
  })
  .refine((k) => (k.cores === undefined) !== (k.size === undefined), {message: 'give exactly one of cores (the cluster\'s total) and size (a tier)', path: ['cores']})

/** A value path in a chart's values: dotted keys (global.imageRegistry). */
const VALUE_PATH = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/

/**
 * One Helm chart (src/charts). Exactly one of `ref` (an OCI registry), `repo` + `name` (a classic
 * repository's index.yaml) and `source` (a local .tgz) says where it comes from; `version` is the
 * exact chart version (a range is not resolved: a bundle names what it carries).
 */
export const chartSchema = z
  .strictObject({
    ref: z.string().regex(/^oci:\/\/[^/\s]+\/[^\s:@]+$/, 'oci://HOST[:PORT]/PATH/NAME, without a tag (the version says it)').optional(),
    repo: z.string().regex(/^https:\/\/\S+$/, 'the https:// URL of a chart repository (the folder holding index.yaml)').optional(),
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a chart name').optional(),
    source: z.string().min(1, 'a local chart archive NAME-VERSION.tgz, relative to the spec').optional(),
    version: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.+_-]{0,127}$/, 'an exact chart version such as 1.2.3').optional(),
    /** values used for image discovery, applied in order as `helm -f`: a file relative to the spec, or inline values */
    values: z.union([z.record(z.string(), z.unknown()), z.array(z.union([z.string().min(1), z.record(z.string(), z.unknown())]))]).optional(),
    /** images the chart needs that discovery does not find */
    images: z.array(imageSchema).default([]),
    /** false: carry only `images`, find none */
    discover: z.boolean().default(true),
    /** platforms of the chart's images (default: spec.platforms) */
    platforms: z.array(platformSchema).min(1).optional(),
    /** the value path that points the chart's images at a registry (Wallaroo: imageRegistry) */
    registryValue: z.string().regex(VALUE_PATH, 'a dotted value path such as imageRegistry or global.imageRegistry').optional(),
  })
  .superRefine((c, ctx) => {
    const given = (['ref', 'repo', 'source'] as const).filter((k) => c[k] !== undefined)
    if (given.length !== 1) {
      ctx.addIssue({code: 'custom', message: given.length === 0 ? 'give one of ref (oci://...), repo (https://... with name) or source (a local .tgz)' : `give only one of ${given.join(', ')}`, path: given.length === 0 ? [] : [given[1] as string]})
      return
    }
    if ((c.ref !== undefined || c.repo !== undefined) && c.version === undefined) ctx.addIssue({code: 'custom', message: 'required: the exact chart version', path: ['version']})
    if (c.repo !== undefined && c.name === undefined) ctx.addIssue({code: 'custom', message: 'required: the chart name in the repository', path: ['name']})
    if (c.repo === undefined && c.name !== undefined) ctx.addIssue({code: 'custom', message: 'name is only for a repo chart (an OCI ref and a .tgz name themselves)', path: ['name']})
  })

export const tlsSchema = z.strictObject({
  domain: z.string().min(1, 'the platform domain, e.g. wallaroo.example.com'),
  sans: z.array(z.string().min(1)).default([]),
  mode: z.enum(['csr', 'self-signed', 'ca']).default('csr'),
  keyType: z.enum(['rsa-3072', 'rsa-4096', 'ecdsa-p256', 'ecdsa-p384']).optional(),
  subject: z.string().optional(),
  days: z.number().int().positive().optional(),
})

export const manifestsSchema = z.strictObject({
  platform: z.enum(['generic', 'eks', 'gke', 'aks', 'openshift']).default('generic'),
  provisioner: z.string().min(1).optional(),
  namespace: z.string().min(1).optional(),
  pools: z.record(z.string(), z.array(z.string().min(1))).optional(),
})

export const specSchema = z.strictObject({
  apiVersion: z.literal('airlock.dev/v1', {error: 'must be airlock.dev/v1'}),
  kind: z.literal('Bundle', {error: 'must be Bundle'}),
  metadata: z.strictObject({
    name: z.string().regex(NAME, 'lower-case letters, digits, ".", "_" and "-", starting and ending with a letter or digit'),
    version: z.string().regex(VERSION, 'a version such as 2025.1.0 (letters, digits, ".", "_", "+", "-")'),
    description: z.string().optional(),
  }),
  spec: z.strictObject({
    profile: z.string().regex(NAME, 'a profile name from templates/profiles/').optional(),
    platforms: z.array(platformSchema).min(1).default(['linux/amd64']),
    images: z.array(imageSchema).default([]),
    charts: z.array(chartSchema).default([]),
    /** every image must carry a cosign signature by this key (an image entry's own verify wins) */
    verify: verifySchema.optional(),
    /** leave every image's referrers (signatures, attestations, SBOMs) out of the bundle */
    excludeReferrers: z.boolean().optional(),
    files: z.array(fileSchema).default([]),
    kots: kotsSchema.optional(),
    tls: tlsSchema.optional(),
    manifests: manifestsSchema.optional(),
  }),
})

export type BundleSpec = z.infer<typeof specSchema>
export type SpecFile = z.infer<typeof fileSchema>
export type SpecImage = z.infer<typeof imageSchema>
export type SpecVerify = z.infer<typeof verifySchema>
export type SpecKots = z.infer<typeof kotsSchema>
export type SpecChart = z.infer<typeof chartSchema>
export type SpecTls = z.infer<typeof tlsSchema>
export type SpecManifests = z.infer<typeof manifestsSchema>
