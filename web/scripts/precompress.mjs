// Writes a `.gz` beside every compressible file of the build, so the server can send the
// precompressed bytes (Content-Encoding: gzip) without compressing on each request.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync, constants } from 'node:zlib'

const root = new URL('../dist/', import.meta.url).pathname
let raw = 0
let gz = 0
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) walk(p)
    else if (/\.(js|css|html|svg|json)$/.test(name)) {
      const data = readFileSync(p)
      const out = gzipSync(data, { level: constants.Z_BEST_COMPRESSION })
      raw += data.length
      gz += out.length
      if (out.length < data.length) writeFileSync(p + '.gz', out)
    }
  }
}
walk(root)
console.log(`precompressed: ${(raw / 1024).toFixed(0)} KiB -> ${(gz / 1024).toFixed(0)} KiB gzip`)
