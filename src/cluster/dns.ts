import {promises as dns} from 'node:dns'

/** What the machine running verify resolved for the platform's names. */
export interface DnsAnswer {
  name: string
  addresses: string[]
  error?: string
}

export interface DnsFacts {
  domain: string
  /** the resolver asked: the system's (getaddrinfo: /etc/hosts, then DNS) or the servers given */
  via: string
  answers: DnsAnswer[]
}

/** The label resolved under the domain: clients reach the platform's services by names below it. */
export const PROBE_LABEL = 'airlock-probe'

/**
 * Resolves the platform domain and a name under it. With `servers` (the DNS servers the platform's
 * clients use, which may differ from this machine's) a resolver asks them directly; otherwise the
 * system resolver answers, as it would for a browser on this machine. Never throws: a failure is an answer.
 */
export async function resolvePlatformNames(domain: string, options: {servers?: string[]; timeoutMs?: number} = {}): Promise<DnsFacts> {
  const timeout = options.timeoutMs ?? 5000
  const names = [domain, `${PROBE_LABEL}.${domain}`]
  let resolve: (name: string) => Promise<string[]>
  let via: string
  if (options.servers?.length) {
    const resolver = new dns.Resolver({timeout, tries: 1})
    resolver.setServers(options.servers)
    via = `DNS servers ${options.servers.join(', ')}`
    resolve = async (name) => {
      const [v4, v6] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)])
      const found = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])]
      if (found.length === 0 && v4.status === 'rejected') throw v4.reason
      return found
    }
  } else {
    via = 'the system resolver of this machine'
    resolve = async (name) => (await dns.lookup(name, {all: true})).map((a) => a.address)
  }
  const answers = await Promise.all(
    names.map(async (name): Promise<DnsAnswer> => {
      let timer: NodeJS.Timeout | undefined
      try {
        const addresses = await Promise.race([
          resolve(name),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${timeout / 1000}s`), {code: 'ETIMEOUT'})), timeout)
          }),
        ])
        return {name, addresses}
      } catch (error) {
        const code = (error as {code?: string}).code
        return {name, addresses: [], error: code === 'ENOTFOUND' || code === 'ENODATA' ? 'no such name' : code === 'ETIMEOUT' ? 'no answer (timeout)' : (code ?? (error as Error).message)}
      } finally {
        clearTimeout(timer)
      }
    }),
  )
  return {domain, via, answers}
}
