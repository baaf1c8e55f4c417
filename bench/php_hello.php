<?php

/**
 * The hello of bench/php.py on Greenrunner: the same answer as the nginx + PHP-FPM side's
 * hello.php (`Hello <path>` and an X-Worker header), from a dependency-free goridge worker
 * (examples/php/goridge.php, as raw_worker.php uses it). No PSR-7: the benchmark compares the
 * servers, not the request objects.
 */

declare(strict_types=1);

ini_set('display_errors', 'stderr');

require __DIR__ . '/../examples/php/goridge.php';

[$in, $out] = open_relay();
$context = json_encode(['status' => 200, 'headers' => ['X-Worker' => ['greenrunner']]]);
$contextLength = strlen($context);
while (($next = wait_payload($in, $out)) !== null) {
    $request = json_decode($next[0], true);
    $body = 'Hello ' . parse_url($request['uri'] ?? '/', PHP_URL_PATH);
    write_frame($out, $context . $body, 0, [$contextLength]);
}
