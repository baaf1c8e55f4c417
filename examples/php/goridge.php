<?php

/**
 * goridge frames packed by hand, with no dependencies: what spiral/goridge's Frame::packFrame
 * and the relays do, small enough to read. Used by raw_worker.php (an http worker) and by the
 * test suite's raw tcp worker (tests/tcp/workers/tcp_worker.php).
 *
 * A frame: pack('CCL') of version|header length, flags and payload length, then the CRC32
 * of those 6 bytes, byte10, byte11 and the options. A data frame carries one option: the
 * length of the context (header) part, which precedes the body in the payload.
 */

declare(strict_types=1);

const VERSION = 0x01;
const CONTROL = 0x01;
const CODEC_RAW = 0x04;
const BYTE10_STOP = 0x02;
const BYTE10_PONG = 0x08;

/** Open the relay named by RR_RELAY: pipes, tcp://host:port or unix://path (goridge Relay::create). */
function open_relay(): array
{
    $dsn = getenv('RR_RELAY') ?: 'pipes';
    if ($dsn === 'pipes') {
        return [STDIN, STDOUT];
    }
    if (!preg_match('#^(tcp|unix)://(.+)$#', $dsn, $m)) {
        throw new RuntimeException("unsupported relay {$dsn}");
    }
    $socket = stream_socket_client($dsn, $errno, $error, 10);
    if ($socket === false) {
        throw new RuntimeException("cannot connect to {$dsn}: {$error}");
    }
    return [$socket, $socket];
}

/** Read exactly $n bytes; null when the server closed the relay. */
function read_bytes($in, int $n): ?string
{
    $buffer = '';
    while (strlen($buffer) < $n) {
        $chunk = fread($in, $n - strlen($buffer));
        if ($chunk === false || $chunk === '') {
            return null;
        }
        $buffer .= $chunk;
    }
    return $buffer;
}

/** One frame as [flags, byte10, options, payload], or null on EOF. */
function read_frame($in): ?array
{
    $header = read_bytes($in, 12);
    if ($header === null) {
        return null;
    }
    $h = unpack('Cvhl/Cflags/Llength/Lcrc/Cbyte10/Cbyte11', $header);
    $optionsLength = (($h['vhl'] & 0x0F) - 3) * 4;
    $rest = read_bytes($in, $optionsLength + $h['length']);
    if ($rest === null) {
        return null;
    }
    $options = $optionsLength > 0 ? array_values(unpack('L*', substr($rest, 0, $optionsLength))) : [];
    return [$h['flags'], $h['byte10'], $options, substr($rest, $optionsLength)];
}

function write_frame($out, string $payload, int $flags, array $options = []): void
{
    $header = pack('CCL', VERSION << 4 | (count($options) + 3), $flags, strlen($payload));
    $header .= pack('LCC', crc32($header), 0, 0);
    foreach ($options as $option) {
        $header .= pack('L', $option);
    }
    fwrite($out, $header . $payload);
    fflush($out);
}

/**
 * The next request as [context, body, flags], answering control frames on the way; null once
 * the server asks the worker to stop or closes the relay (what Worker::waitPayload does).
 * flags is the frame's codec byte (CODEC_RAW for jobs, CODEC_JSON for http contexts).
 */
function wait_payload($in, $out): ?array
{
    while (($frame = read_frame($in)) !== null) {
        [$flags, $byte10, $options, $payload] = $frame;
        if ($flags & CONTROL) {
            $command = json_decode($payload, true);
            if (!empty($command['stop'])) {
                return null;
            }
            if (!empty($command['pid'])) {
                write_frame($out, json_encode(['pid' => getmypid()]), CONTROL);
            }
            continue;
        }
        if ($byte10 & (BYTE10_STOP | BYTE10_PONG)) {
            continue; // stream leftovers: these workers never stream
        }
        $contextLength = $options[0] ?? 0;
        return [substr($payload, 0, $contextLength), substr($payload, $contextLength), $flags];
    }
    return null;
}
