<?php

/**
 * Spiral\Goridge\RPC\RPC::call with the JsonCodec, inlined with nothing but php-cli.
 *
 * Frames are packed as spiral/goridge's Frame::packFrame does (pack('CCL'), crc32 of those
 * 6 bytes, byte10, byte11, options); the request is method . json_encode(payload) with options
 * [seq, strlen(method)] and flag 0x08; the reply must carry 2 options and our seq, and its body
 * is the payload after options[1] bytes. Usage: php php_rpc_client.php ADDRESS METHOD JSON...
 * (one call per METHOD JSON pair); prints one JSON line per call: the result, or {"error": ...}.
 */

declare(strict_types=1);

const CODEC_JSON = 0x08;
const ERROR = 0x40;

function read_bytes($in, int $n): string
{
    $buffer = '';
    while (strlen($buffer) < $n) {
        $chunk = fread($in, $n - strlen($buffer));
        if ($chunk === false || $chunk === '') {
            throw new RuntimeException('connection closed');
        }
        $buffer .= $chunk;
    }
    return $buffer;
}

$address = $argv[1];
$relay = stream_socket_client($address, $errno, $error, 10);
if ($relay === false) {
    fwrite(STDERR, "cannot connect to {$address}: {$error}\n");
    exit(1);
}
$seq = 1;
for ($i = 2; $i + 1 < $argc; $i += 2) {
    $method = $argv[$i];
    $payload = $method . json_encode(json_decode($argv[$i + 1], true));
    $header = pack('CCL', 1 << 4 | 5, CODEC_JSON, strlen($payload));
    $header .= pack('LCC', crc32($header), 0, 0) . pack('LL', $seq, strlen($method));
    fwrite($relay, $header . $payload);

    $h = unpack('Cvhl/Cflags/Llength/Lcrc/Cbyte10/Cbyte11', read_bytes($relay, 12));
    $optionsLength = (($h['vhl'] & 0x0F) - 3) * 4;
    $rest = read_bytes($relay, $optionsLength + $h['length']);
    $options = $optionsLength > 0 ? array_values(unpack('L*', substr($rest, 0, $optionsLength))) : [];
    if (count($options) !== 2) {
        throw new RuntimeException('Invalid RPC frame, options missing');
    }
    if ($options[0] !== $seq) {
        throw new RuntimeException('Invalid RPC frame, sequence mismatch');
    }
    $seq++;
    $body = substr(substr($rest, $optionsLength), $options[1]);
    if ($h['flags'] & ERROR) {
        echo json_encode(['error' => sprintf("Error '%s' on %s", $body, $address)]), "\n";
    } else {
        echo json_encode(json_decode($body, true)), "\n";
    }
}
