<?php

/**
 * A RoadRunner jobs worker with no dependencies: what spiral/roadrunner-jobs' Consumer and
 * ReceivedTask do on the relay, packed by hand (goridge.php).
 *
 *   python -m actors.main -c config/jobs.rr.yaml -o server.command="php examples/php/jobs_worker.php"
 *
 * Each job arrives as one frame with flags CODEC_RAW: the context is JSON
 * {"id","job","driver","queue","headers","pipeline"}, the body is the payload as pushed.
 * The answer is one frame whose body is {"type": N, "data": {...}}:
 *   2 ack, 3 nack (message, requeue, delay_seconds), 4 requeue (message, delay_seconds, headers).
 * ReceivedTask::ack() sends {"type":2,"data":[]} (an empty PHP array), as below.
 *
 * This one acks every job, except a job named "nack" (nacked, dropped) and a job named
 * "requeue" without an "attempt" header (requeued once with attempt: 2). With JOBS_LOG set,
 * each job is appended to that file as a JSON line (to watch what arrives).
 */

declare(strict_types=1);

ini_set('display_errors', 'stderr');

require __DIR__ . '/goridge.php';

function answer($out, int $type, array $data = []): void
{
    write_frame($out, json_encode(['type' => $type, 'data' => $data]), CODEC_RAW, [0]);
}

$log = getenv('JOBS_LOG') ?: null;
[$in, $out] = open_relay();
while (($next = wait_payload($in, $out)) !== null) {
    [$context, $body, $flags] = $next;
    $job = json_decode($context, true);
    if ($log !== null) {
        $line = json_encode([
            'pid' => getmypid(),
            'flags' => $flags,
            'context' => $context,
            'id' => $job['id'],
            'name' => $job['job'],
            'payload' => $body,
            'headers' => (object) $job['headers'],
            'pipeline' => $job['pipeline'],
            'queue' => $job['queue'] ?? 'unknown',
            'driver' => $job['driver'],
            'at' => microtime(true),
        ]);
        file_put_contents($log, $line . "\n", FILE_APPEND | LOCK_EX);
    }
    if ($job['job'] === 'nack') {
        answer($out, 3, ['message' => 'dropped on purpose', 'requeue' => false, 'delay_seconds' => 0]);
    } elseif ($job['job'] === 'requeue' && !isset($job['headers']['attempt'])) {
        answer($out, 4, ['message' => 'again', 'delay_seconds' => 0, 'headers' => ['attempt' => ['2']]]);
    } else {
        answer($out, 2);
    }
}
