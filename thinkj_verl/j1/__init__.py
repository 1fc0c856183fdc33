"""J1 (Whitehouse et al. 2025) in verl: one judgment session per pair, rewarded as a whole.

verl scores one sample per reward call and gives every row its own GRPO group, so the two
orders of a pair never meet. A J1 session does: one dataset item is one pair (``--orders
pair`` rows, `thinkj_verl.data.rows.pair_row`); the ``thinkj_pair`` agent loop
(`thinkj_verl.j1.agent_loop`) generates every judgment of the session (the pair in both orders,
or each response alone for the pointwise format) and returns them as several outputs of one
item; verl hands all of them to ONE ``run_single`` of the ``thinkj_pair`` reward manager
(`thinkj_verl.j1.reward_manager`), copies the session's reward to each output, and GRPO's
group (``rollout.n`` sessions of a pair) shares one advantage per session. The scoring itself is
pure (`thinkj_verl.j1.session`).

Kept apart from the core (prompts, parser, reward functions, the ``thinkj`` manager), which it
only uses: nothing in the core imports this package.
"""
