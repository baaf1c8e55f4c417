<?php

/**
 * The PHP-style worker of tests/http_middleware: raw goridge frames (examples/php/goridge.php),
 * so it runs with nothing but php-cli. Routes:
 *
 *   /echo          JSON {remoteAddr, headers} as the worker received them
 *   /text?n=N      N bytes of text/plain (compressible)
 *   /sendfile?path=P   an answer with "X-Sendfile: P" and a body that must never be seen
 *   anything else  404 "from worker <path>"
 */

declare(strict_types=1);

ini_set('display_errors', 'stderr');

require __DIR__ . '/../../../examples/php/goridge.php';

function respond($out, int $status, array $headers, string $body): void
{
    $context = json_encode(['status' => $status, 'headers' => $headers]);
    write_frame($out, $context . $body, 0, [strlen($context)]);
}

[$in, $out] = open_relay();
while (($next = wait_payload($in, $out)) !== null) {
    $request = json_decode($next[0], true);
    $path = parse_url($request['uri'] ?? '/', PHP_URL_PATH) ?: '/';
    parse_str($request['rawQuery'] ?? '', $query);
    if ($path === '/echo') {
        $body = json_encode([
            'remoteAddr' => $request['remoteAddr'] ?? null,
            'headers' => $request['headers'] ?? new stdClass(),
        ]);
        respond($out, 200, ['Content-Type' => ['application/json']], $body);
    } elseif ($path === '/text') {
        $n = (int) ($query['n'] ?? '4096');
        respond($out, 200, ['Content-Type' => ['text/plain']], substr(str_repeat("php says hello\n", intdiv($n, 15) + 1), 0, $n));
    } elseif ($path === '/sendfile') {
        respond($out, 200, ['X-Sendfile' => [$query['path'] ?? '']], 'worker body, never sent');
    } else {
        respond($out, 404, ['Content-Type' => ['text/plain']], "from worker {$path}");
    }
}
