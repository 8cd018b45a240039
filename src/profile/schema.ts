import {z} from 'zod'

/** A Kubernetes quantity as written in a profile: 16G, 50Gi, 625G. Parsed by the cluster checks. */
const quantity = z.string().regex(/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/, 'a quantity such as 16G or 50Gi')
const version = z.string().regex(/^\d+\.\d+(\.\d+)?$/, 'a version such as 1.29')
const labelKey = z.string().min(1)

export const taintSchema = z.strictObject({key: labelKey, value: z.string(), effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'])})
export const nodePoolSchema = z.strictObject({
  name: z.string().min(1),
  label: z.strictObject({key: labelKey, value: z.string()}),
  taint: taintSchema.optional(),
})

export const serviceSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]+$/),
  name: z.string().min(1),
  minCores: z.number().int().positive(),
  description: z.string().optional(),
})

export const profileSchema = z.strictObject({
  apiVersion: z.literal('airlock.dev/v1'),
  kind: z.literal('RequirementProfile'),
  metadata: z.strictObject({name: z.string().min(1), platform: z.string().min(1), version: z.string().min(1)}),
  cluster: z.strictObject({
    nodes: z.strictObject({min: z.number().int().positive()}),
    cpuCores: z.strictObject({min: z.number().positive(), recommended: z.number().positive()}),
    memoryPerNode: z.strictObject({min: quantity}),
    ephemeralStoragePerNode: z.strictObject({min: quantity}),
    storageTotal: z.strictObject({min: quantity, perExtraLabNode: quantity.optional()}),
    dedicated: z.boolean().default(false),
    /** CPU architectures (kubernetes.io/arch values) the platform's images are built for; nodes of others do not count. Absent: any. */
    architectures: z.array(z.string().regex(/^[a-z0-9_]+$/, 'a kubernetes.io/arch value such as amd64 or arm64')).min(1).optional(),
  }),
  versions: z.strictObject({
    kubernetes: z.strictObject({min: version, preferred: version, runtimes: z.array(z.string()).min(1)}),
    openshift: z.strictObject({min: version, preferred: version, runtimes: z.array(z.string()).min(1)}).optional(),
    kubectl: z.strictObject({min: version, preferred: version}).optional(),
  }),
  namespace: z.strictObject({
    name: z.string().min(1),
    embeddedName: z.string().optional(),
    createdAtRuntime: z.array(z.string()).default([]),
    partOfLabel: z.strictObject({key: labelKey, value: z.string()}).optional(),
  }),
  editions: z.record(z.string(), z.strictObject({ipAddresses: z.number().int().positive(), dnsRequired: z.boolean()})),
  storageClass: z.strictObject({
    name: z.string().min(1),
    volumeBindingMode: z.enum(['WaitForFirstConsumer', 'Immediate']),
    allowVolumeExpansion: z.boolean(),
  }),
  nodePools: z.array(nodePoolSchema).default([]),
  services: z.strictObject({
    tiers: z.array(z.number().int().positive()).min(1),
    items: z.array(serviceSchema).min(1),
  }),
  rbac: z.strictObject({
    clusterRoles: z.array(z.string()).default([]),
    rules: z.array(z.strictObject({resources: z.array(z.string()).min(1), verbs: z.array(z.string()).min(1)})).default([]),
    installer: z.array(z.strictObject({group: z.string(), resource: z.string().min(1), verb: z.string().min(1)})).default([]),
  }),
  /**
   * KOTS ConfigValues items (src/kots). `verified` says the item NAME is seen in real installs; the
   * others are airlock's choice until the application's own Config (--app-config) confirms them.
   */
  kots: z
    .strictObject({
      /** ConfigValues metadata.name: the application slug */
      app: z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'an application slug such as my-app'),
      /** items set from the command's own flags (--domain, --ingress-mode, --edition) */
      inputs: z
        .strictObject({
          domain: z.strictObject({item: z.string().regex(/^[A-Za-z0-9_.-]+$/), verified: z.boolean().default(false)}).optional(),
          ingressMode: z
            .strictObject({
              item: z.string().regex(/^[A-Za-z0-9_.-]+$/),
              options: z.array(z.string().min(1)).min(1),
              default: z.string().optional(),
              /** where the single default comes from (a document, or "airlock's choice") */
              defaultSource: z.string().optional(),
              /** edition -> the mode it gets when none is asked, and where that fact comes from */
              defaults: z.record(z.string(), z.strictObject({value: z.string().min(1), source: z.string().min(1)})).optional(),
              verified: z.boolean().default(false),
              /** the option values seen in a real install or the vendor's documentation; others are shown as unverified */
              verifiedValues: z.array(z.string()).default([]),
            })
            .optional(),
          edition: z.strictObject({item: z.string().regex(/^[A-Za-z0-9_.-]+$/), verified: z.boolean().default(false)}).optional(),
          /** how many lab nodes the install runs: each past the first adds cluster.storageTotal.perExtraLabNode */
          labNodes: z.strictObject({item: z.string().regex(/^[A-Za-z0-9_.-]+$/), verified: z.boolean().default(false)}).optional(),
        })
        .default({}),
      /** one item per service that the tier rule may turn off; `bool` writes "1"/"0", `select` writes on/off */
      services: z
        .array(
          z.strictObject({
            service: z.string().regex(/^[a-z0-9-]+$/),
            item: z.string().regex(/^[A-Za-z0-9_.-]+$/),
            type: z.enum(['bool', 'select']).default('bool'),
            on: z.string().optional(),
            off: z.string().optional(),
            verified: z.boolean().default(false),
            /** select values seen in a real install; on/off values outside this list are shown as unverified */
            verifiedValues: z.array(z.string()).default([]),
          }),
        )
        .default([]),
      /** items whose values are secrets: written as valuePlaintext */
      passwords: z.array(z.string().regex(/^[A-Za-z0-9_.-]+$/)).default([]),
    })
    .optional(),
})

export type RequirementProfile = z.infer<typeof profileSchema>
export type KotsSection = NonNullable<RequirementProfile['kots']>
export type ServiceToggleSpec = KotsSection['services'][number]
export type NodePool = z.infer<typeof nodePoolSchema>
export type ServiceSpec = z.infer<typeof serviceSchema>
