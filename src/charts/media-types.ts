/** Helm's OCI media types (helm.sh/docs/topics/registries, pkg/registry/constants.go). */
export const HELM = {
  config: 'application/vnd.cncf.helm.config.v1+json',
  content: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
  provenance: 'application/vnd.cncf.helm.chart.provenance.v1.prov',
  /** what Helm before 3.8 (oras v0) wrote for the content layer; Helm still reads it */
  legacyContent: 'application/tar+gzip',
} as const

/** OCI tags cannot hold "+": Helm pushes 1.2.3+build as the tag 1.2.3_build and reads it back the same way. */
export function chartTag(version: string): string {
  return version.replaceAll('+', '_')
}
