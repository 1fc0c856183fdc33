"""Rule-based rewards for judge training, with verl's ``compute_score`` signature.

Load one in verl as ``reward.custom_reward_function.path=pkg://reward_fns.<name>``
(``thinkj_strength``, ``thinkj_binary``, ``thinkj_margin``, ``answer_tag``), or import it
as a plain Python function.
"""
