# stream_check.awk — judge one line stream (punchlib.sh nl_stream_start) as its receiver got it.
#
# Usage: awk -v from=TAG [-v end=TIME] -f stream_check.awk SENT ARRIVALS
#   SENT      what TAG sent, one "SEQ TIME" per line, SEQ 1, 2, 3... (TAG.sent)
#   ARRIVALS  the receiver's stdout, each line after the time it was read: "STAMP LINE"
#             (RECEIVER.arrivals); a stream line is "TAG SEQ TIME", other lines are skipped.
#   end       when the stream is judged: a stream whose last lines never came has paused since
#             its last arrival, until then
# Times are Unix seconds with microseconds (bash's EPOCHREALTIME), all from this machine's clock.
#
# Prints one line of fields:
#   sent=N received=M lost=K missing=RANGES dups=SEQS order=FIRST pause=S after=SEQ open=0|1 delay=S
# received: stream lines that arrived (duplicates too); lost: SEQs sent and never received;
# missing: those SEQs as ranges ("57-80,91"; "-" when none); dups: SEQs received more than once
# ("-"; "SEQ?" for a SEQ never sent); order: the first line that arrived after a later one,
# "58<60" ("-"); pause: the longest gap between two consecutive arrivals (s), after: the SEQ that
# arrived before that gap (0 when none did); open: 1 when that gap is the one from the last
# arrival (or from the first sending, when nothing came) to `end` because the stream's last line
# never came, else 0; delay: the longest time from sending a line to its arrival (s).

FILENAME == ARGV[1] {
    if ($1 ~ /^[0-9]+$/ && $1 + 0 > sent) sent = $1 + 0
    if ($1 == 1) first = $2
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
    open = 0
    if (end != "" && sent > 0 && !seen[sent]) {
        if (arrivals == 0) last = first  # nothing came: paused since the first line was sent
        if (end - last > pause) {
            pause = end - last
            after = prev
            open = 1
        }
    }
    printf "sent=%d received=%d lost=%d missing=%s dups=%s order=%s pause=%.2f after=%d open=%d delay=%.2f\n",
        sent, received, lost, (missing == "" ? "-" : missing), (dups == "" ? "-" : dups),
        (order == "" ? "-" : order), pause, after, open, delay
}
