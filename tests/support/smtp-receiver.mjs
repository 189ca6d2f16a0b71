// A real SMTP server (the smtp-server package) for the alerts tests: accepts every mail
// without authentication and records it (envelope, raw message). GET /messages on its HTTP
// port returns the record. Prints "listening <smtp port> <http port>".
import { createServer } from 'node:http';
import { SMTPServer } from 'smtp-server';

const messages = [];
const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, session, callback) {
    let raw = '';
    stream.on('data', (chunk) => (raw += chunk));
    stream.on('end', () => {
      // Long header lines arrive folded (RFC 5322 2.2.3): unfold the head before reading it.
      const head = raw.split('\r\n\r\n')[0].replace(/\r\n[ \t]+/g, ' ');
      const header = (name) => new RegExp(`^${name}: (.*)$`, 'im').exec(head)?.[1]?.trim();
      messages.push({
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
        to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
        subject: header('Subject'),
        messageId: header('Message-ID'),
        idempotencyKey: header('Idempotency-Key'),
        raw,
        at: Date.now(),
      });
      callback();
    });
  },
});
const http = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(messages));
});
smtp.listen(0, '127.0.0.1', () => {
  http.listen(0, '127.0.0.1', () => {
    process.stdout.write(`listening ${smtp.server.address().port} ${http.address().port}\n`);
  });
});
process.on('SIGTERM', () => smtp.close(() => http.close(() => process.exit(0))));
