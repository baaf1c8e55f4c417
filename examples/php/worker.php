<?php

/**
 * The canonical RoadRunner PSR-7 worker, as in the spiral/roadrunner-http docs.
 * Nothing here knows about Greenrunner: the server speaks RoadRunner's protocol.
 */

declare(strict_types=1);

use Nyholm\Psr7\Factory\Psr17Factory;
use Nyholm\Psr7\Response;
use Spiral\RoadRunner\Http\PSR7Worker;
use Spiral\RoadRunner\Worker;

ini_set('display_errors', 'stderr');

require __DIR__ . '/vendor/autoload.php';

$worker = Worker::create();
$factory = new Psr17Factory();

$psr7 = new PSR7Worker($worker, $factory, $factory, $factory);

while (true) {
    try {
        $request = $psr7->waitRequest();
        if ($request === null) {
            break;
        }
    } catch (\Throwable $e) {
        $psr7->respond(new Response(400));
        continue;
    }

    try {
        $psr7->respond(new Response(200, ['Content-Type' => 'text/plain'], sprintf(
            "Hello from PHP %s (pid %d): %s %s\n",
            PHP_VERSION,
            getmypid(),
            $request->getMethod(),
            (string) $request->getUri(),
        )));
    } catch (\Throwable $e) {
        $psr7->getWorker()->error((string) $e);
    }
}
