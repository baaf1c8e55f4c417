<?php

/**
 * A tcp worker speaking exactly the bytes spiral/roadrunner-tcp's TcpWorker sends, with no
 * dependencies: goridge frames packed by hand (as examples/php/raw_worker.php does).
 *
 * TcpWorker::respond($body, TcpResponse) sends Worker::respond(new Payload($body, $word)):
 * one frame, flags CODEC_RAW, payload = word . body, option 0 = strlen(word).
 * The request context is json_decode()d like TcpWorker::waitRequest does.
 *
 * TCP_APP=echo: echo, "quit" (WRITECLOSE), "close" (CLOSE); TCP_APP=chat: NICK, SAY,
 * HISTORY, QUIT over a history file in TCP_STATE shared by every worker.
 */

declare(strict_types=1);

ini_set('display_errors', 'stderr');

require __DIR__ . '/../../../examples/php/goridge.php';

/** TcpWorker::respond(): TcpResponse::Respond = WRITE, RespondClose = WRITECLOSE, Read = CONTINUE, Close = CLOSE. */
function respond($out, string $body, string $word = 'WRITE'): void
{
    write_frame($out, $word . $body, CODEC_RAW, [strlen($word)]);
}

function append_line(string $path, string $line): void
{
    file_put_contents($path, $line . "\n", FILE_APPEND | LOCK_EX);
}

function echo_app($out, array $request, string $body): void
{
    switch ($request['event']) {
        case 'CONNECTED':
            respond($out, '', 'CONTINUE');
            return;
        case 'CLOSE':
            $log = getenv('TCP_LOG');
            if ($log) {
                append_line($log, 'CLOSE ' . $request['uuid']);
            }
            respond($out, '', 'CLOSE');
            return;
    }
    $command = trim($body);
    if ($command === 'quit') {
        respond($out, "bye\r\n", 'WRITECLOSE');
    } elseif ($command === 'close') {
        respond($out, '', 'CLOSE');
    } elseif ($command === 'whoami') {
        respond($out, "{$request['uuid']} {$request['remote_addr']} {$request['server']}\r\n");
    } else {
        respond($out, $body);
    }
}

function chat_app($out, array $request, string $body): void
{
    $state = getenv('TCP_STATE') ?: '/tmp';
    $nickFile = "{$state}/nick-{$request['uuid']}";
    $history = "{$state}/history";
    if ($request['event'] === 'CONNECTED') {
        respond($out, "HELLO {$request['uuid']}\n");
        return;
    }
    $nick = is_file($nickFile) ? file_get_contents($nickFile) : $request['remote_addr'];
    if ($request['event'] === 'CLOSE') {
        append_line($history, "* {$nick} left");
        respond($out, '', 'CLOSE');
        return;
    }
    $parts = explode(' ', rtrim($body, "\n"), 2);
    $verb = $parts[0];
    $rest = $parts[1] ?? '';
    if ($verb === 'NICK') {
        file_put_contents($nickFile, $rest);
        respond($out, "OK\n");
    } elseif ($verb === 'SAY') {
        append_line($history, "{$nick}: {$rest}");
        respond($out, "OK\n");
    } elseif ($verb === 'HISTORY') {
        $lines = is_file($history) ? file_get_contents($history) : '';
        respond($out, $lines . "END\n");
    } elseif ($verb === 'QUIT') {
        respond($out, "BYE\n", 'WRITECLOSE');
    } else {
        respond($out, "ERR unknown command {$verb}\n");
    }
}

if (getenv('RR_MODE') !== 'tcp') {
    fwrite(STDERR, "RR_MODE is not tcp\n");
    exit(2);
}
$app = getenv('TCP_APP') === 'chat' ? 'chat_app' : 'echo_app';
[$in, $out] = open_relay();
while (($next = wait_payload($in, $out)) !== null) {
    $request = json_decode($next[0], true, 512, JSON_THROW_ON_ERROR);
    $app($out, $request, $next[1]);
}
