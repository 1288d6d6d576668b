/**
 * The web lab's local server (`npm run lab:web`): serves the lab page and its esbuild
 * bundles on 127.0.0.1 with the cross-origin isolation headers SharedArrayBuffer needs
 * (COOP same-origin + COEP require-corp; the page then reads crossOriginIsolated = true).
 *
 * Owns: one http.Server. Serves a fixed list of files only (the page, its bundles and
 * their source maps, the two documents its guides link to), never a path taken from the request, so nothing else on disk is
 * reachable. Bundles come from dist/web (built by bench/web/build.ts).
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from './build.js';

export interface LabServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
} as const;

function routes(root: string): Map<string, { file: string; type: string }> {
  const web = join(root, 'dist', 'web');
  const js = 'text/javascript; charset=utf-8';
  const map = 'application/json; charset=utf-8';
  return new Map([
    ['/', { file: join(root, 'bench', 'web', 'static', 'index.html'), type: 'text/html; charset=utf-8' }],
    ['/lab.css', { file: join(root, 'bench', 'web', 'static', 'lab.css'), type: 'text/css; charset=utf-8' }],
    ['/lab.js', { file: join(web, 'lab.js'), type: js }],
    ['/lab.js.map', { file: join(web, 'lab.js.map'), type: map }],
    ['/lab-worker.js', { file: join(web, 'lab-worker.js'), type: js }],
    ['/lab-worker.js.map', { file: join(web, 'lab-worker.js.map'), type: map }],
    // The documents the page's guides link to, as plain text.
    ['/docs/design.md', { file: join(root, 'docs', 'design.md'), type: 'text/plain; charset=utf-8' }],
    ['/docs/weblab.md', { file: join(root, 'docs', 'weblab.md'), type: 'text/plain; charset=utf-8' }],
  ]);
}

/** Starts the server on host:port (port 0: a free port). */
export function startLabServer(options: { port?: number; host?: string; root?: string } = {}): Promise<LabServer> {
  const host = options.host ?? '127.0.0.1';
  const table = routes(options.root ?? packageRoot());
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = table.get(path === '/index.html' ? '/' : path);
    if ((req.method !== 'GET' && req.method !== 'HEAD') || route === undefined) {
      res.writeHead(route === undefined ? 404 : 405, { ...ISOLATION_HEADERS, 'Content-Type': 'text/plain' });
      res.end(route === undefined ? 'not found\n' : 'method not allowed\n');
      return;
    }
    readFile(route.file).then(
      (body) => {
        res.writeHead(200, { ...ISOLATION_HEADERS, 'Content-Type': route.type, 'Content-Length': body.length });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      () => {
        res.writeHead(500, { ...ISOLATION_HEADERS, 'Content-Type': 'text/plain' });
        res.end(`missing ${path}: run \`npm run build\` first\n`);
      },
    );
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      const port = (server.address() as AddressInfo).port;
      resolvePromise({
        url: `http://${host}:${port}/`,
        port,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 8711;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be an integer from 0 to 65535, got ${process.argv[i + 1]}`);
    process.exit(2);
  }
  if (process.argv.includes('--dry-run')) {
    // Start on a free port, fetch the page once, check its isolation headers, stop.
    const s = await startLabServer({ port: 0 });
    const r = await fetch(s.url);
    const isolated = r.headers.get('cross-origin-opener-policy') === 'same-origin' && r.headers.get('cross-origin-embedder-policy') === 'require-corp';
    await s.close();
    if (!r.ok || !isolated) {
      console.error(`web lab dry run: GET / answered ${r.status}, cross-origin isolation headers ${isolated ? 'present' : 'missing'}`);
      process.exit(1);
    }
    console.log(`web lab dry run: the page is served with cross-origin isolation headers (would listen on 127.0.0.1:${port})`);
  } else {
    const s = await startLabServer({ port });
    console.log(`sabmalloc web lab: ${s.url}  (cross-origin isolated; Ctrl-C stops it)`);
  }
}
