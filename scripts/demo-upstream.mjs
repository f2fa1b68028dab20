// The demo's upstream: echoes what it received as JSON, so you can see what the gateway forwards.
import http from 'node:http';
const port = Number(process.argv[2] ?? 9001);
http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (d) => chunks.push(d));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString();
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }, null, 2) + '\n');
  });
}).listen(port, '127.0.0.1', () => console.error(`demo upstream on http://127.0.0.1:${port}`));
