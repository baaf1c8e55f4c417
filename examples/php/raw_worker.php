<?php

/**
 * A RoadRunner http worker with no dependencies at all: goridge frames packed by hand.
 *
 * Shows what travels on the relay (and lets you try Greenrunner with nothing but
 * php-cli installed):
 *
 *   python -m actors.main -w examples/php -c .rr.yaml -o server.command="php raw_worker.php"
 *
 * Frames are built exactly as spiral/goridge's Frame::packFrame does: pack('CCL') of
 * version|header length, flags and payload length, then the CRC32 of those 6 bytes,
 * byte10, byte11 and the options. A data frame carries one option: the length of the
 * context (header) part, which precedes the body in the payload.
 * Real applications use spiral/roadrunner-http instead (worker.php).
 */

declare(strict_types=1);

ini_set('display_errors', 'stderr');

require __DIR__ . '/goridge.php';

[$in, $out] = open_relay();
while (($next = wait_payload($in, $out)) !== null) {
    $request = json_decode($next[0], true);
    $context = json_encode(['status' => 200, 'headers' => ['Content-Type' => ['text/plain']]]);
    $body = sprintf(
        "Hello from raw PHP %s (pid %d): %s %s\n",
        PHP_VERSION,
        getmypid(),
        $request['method'] ?? '?',
        $request['uri'] ?? '?',
    );
    write_frame($out, $context . $body, 0, [strlen($context)]);
}
