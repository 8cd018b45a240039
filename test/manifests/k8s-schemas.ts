import assert from 'node:assert/strict'
import {Namespace} from 'kubernetes-models/v1/Namespace'
import {StorageClass} from 'kubernetes-models/storage.k8s.io/v1/StorageClass'
import {parseAllDocuments} from 'yaml'

/** Every object of a rendered YAML file, validated against the Kubernetes OpenAPI schemas. */
export function validateObjects(text: string): Record<string, unknown>[] {
  return parseAllDocuments(text).map((doc) => {
    assert.deepEqual(doc.errors, [])
    const obj = doc.toJS() as {apiVersion: string; kind: string}
    const model = obj.kind === 'Namespace' ? new Namespace(obj as never) : obj.kind === 'StorageClass' ? new StorageClass(obj as never) : undefined
    assert.ok(model, `no schema for ${obj.apiVersion} ${obj.kind}`)
    model.validate()
    return obj as Record<string, unknown>
  })
}

