#!/usr/bin/env escript
%% The reference workload state (../../../shared/workload.md), built exactly
%% as shared/anchors/erl_codec_bench.escript builds it, written to OUT as
%% term_to_binary. term/workload_test.go compares it with enode's state.
%%
%% Usage: escript workload_state.escript OUT [Sessions]   (default 32000)
-mode(compile).

session(I) ->
    {session, I, {timestamp, 86996746 + I}, {tid, I rem 7}, {loc, {I rem 100, I rem 37}, na},
     list_to_binary(io_lib:format("user-~10..0B", [I]))}.

state(N) ->
    Sessions = [session(I) || I <- lists:seq(1, N)],
    Counters = maps:from_list([{list_to_binary("ctr-" ++ integer_to_list(I)), I} || I <- lists:seq(1, 10000)]),
    Blob = binary:copy(<<"0123456789abcdef">>, 65536),
    {worker_state, 42, 1, 1700000000000, Sessions, Counters, Blob}.

main([Out]) -> main([Out, "32000"]);
main([Out, N]) ->
    ok = file:write_file(Out, term_to_binary(state(list_to_integer(N))));
main(_) ->
    io:format(standard_error, "usage: escript workload_state.escript OUT [Sessions]~n", []),
    halt(2).
