# stream_check.awk — judge one line stream (punchlib.sh nl_stream_start) as its receiver got it.
#
# Usage: awk -v from=TAG -f stream_check.awk SENT ARRIVALS
#   SENT      what TAG sent, one "SEQ TIME" per line, SEQ 1, 2, 3... (TAG.sent)
#   ARRIVALS  the receiver's stdout, each line after the time it was read: "STAMP LINE"
#             (RECEIVER.arrivals); a stream line is "TAG SEQ TIME", other lines are skipped.
# Times are Unix seconds with microseconds (bash's EPOCHREALTIME), all from this machine's clock.
#
# Prints one line of fields:
#   sent=N received=M lost=K missing=RANGES dups=SEQS order=FIRST pause=S after=SEQ delay=S
# received: stream lines that arrived (duplicates too); lost: SEQs sent and never received;
# missing: those SEQs sent and never received, as ranges ("57-80,91"; "-" when none); dups: SEQs
# received more than once ("-"); order: the first line that arrived after a later one, "58<60"
# ("-"); pause: the longest gap between two consecutive arrivals (s), after: the SEQ that arrived
# before that gap (0 when fewer than two arrived); delay: the longest time from sending a line to
# its arrival (s). Received lines with a SEQ never sent count as missing nothing but show in dups
# as "SEQ?" (a line the checker cannot place).

FILENAME == ARGV[1] {
    if ($1 ~ /^[0-9]+$/ && $1 + 0 > sent) sent = $1 + 0
    next
}

$2 != from || $3 !~ /^[0-9]+$/ { next }

{
    seq = $3 + 0
    received++
    if (seq < 1 || (sent > 0 && seq > sent)) {
        dups = dups (dups == "" ? "" : ",") seq "?"
        next
    }
    if (seen[seq]++) {
        dups = dups (dups == "" ? "" : ",") seq
        next
    }
    if (seq < top && order == "") order = seq "<" top
    if (seq > top) top = seq
    if (arrivals > 0 && $1 - last > pause) {
        pause = $1 - last
        after = prev
    }
    if (NF >= 4 && $1 - $4 > delay) delay = $1 - $4
    arrivals++
    last = $1
    prev = seq
}

END {
    missing = ""
    for (i = 1; i <= sent; i++) {
        if (seen[i]) continue
        j = i
        lost++
        while (j + 1 <= sent && !seen[j + 1]) {
            j++
            lost++
        }
        missing = missing (missing == "" ? "" : ",") (j > i ? i "-" j : i)
        i = j
    }
    printf "sent=%d received=%d lost=%d missing=%s dups=%s order=%s pause=%.2f after=%d delay=%.2f\n",
        sent, received, lost, (missing == "" ? "-" : missing), (dups == "" ? "-" : dups),
        (order == "" ? "-" : order), pause, after, delay
}
