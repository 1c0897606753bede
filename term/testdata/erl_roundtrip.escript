#!/usr/bin/env escript
%% Cross-check of enode's codec and term order against a live Erlang VM.
%%
%% Usage: escript erl_roundtrip.escript IN OUT
%%
%% IN is a sequence of records <<Len:32, Bytes:Len/binary>>, each the
%% External Term Format of one term as enode encoded it. For each record, in
%% order, OUT gets one of:
%%
%%   <<0, Len:32, Bytes:Len/binary, Cmp, Exact>>
%%       binary_to_term succeeded; Bytes is term_to_binary of the decoded
%%       term; Cmp is the term order of this term against the previous
%%       record's term (0 less, 1 equal (==), 2 greater) and Exact is 1 when
%%       the two are exactly equal (=:=), 0 when not. For the first record,
%%       or when the previous one failed to decode, Cmp and Exact are 255.
%%   <<1, Len:32, Reason:Len/binary>>
%%       binary_to_term failed; Reason is the error, as ~p prints it.
%%
%% All records go through one VM, so a test can check hundreds of terms in
%% well under a second.
-mode(compile).

main([In, Out]) ->
    {ok, Data} = file:read_file(In),
    Results = run(Data, none, []),
    ok = file:write_file(Out, Results);
main(_) ->
    io:format(standard_error, "usage: escript erl_roundtrip.escript IN OUT~n", []),
    halt(2).

run(<<>>, _Prev, Acc) ->
    lists:reverse(Acc);
run(<<Len:32, Bytes:Len/binary, Rest/binary>>, Prev, Acc) ->
    case catch binary_to_term(Bytes) of
        {'EXIT', Reason} ->
            R = iolist_to_binary(io_lib:format("~p", [Reason])),
            run(Rest, none, [<<1, (byte_size(R)):32, R/binary>> | Acc]);
        T ->
            B = term_to_binary(T),
            {Cmp, Exact} = compare(Prev, T),
            run(Rest, {ok, T}, [<<0, (byte_size(B)):32, B/binary, Cmp, Exact>> | Acc])
    end;
run(Junk, _Prev, Acc) ->
    R = iolist_to_binary(io_lib:format("bad record framing: ~p trailing bytes", [byte_size(Junk)])),
    lists:reverse([<<1, (byte_size(R)):32, R/binary>> | Acc]).

compare(none, _) -> {255, 255};
compare({ok, A}, B) ->
    Cmp = if B < A -> 0; B == A -> 1; true -> 2 end,
    Exact = case B =:= A of true -> 1; false -> 0 end,
    {Cmp, Exact}.
