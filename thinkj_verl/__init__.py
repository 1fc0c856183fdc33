"""thinkj-verl: train generative LLM-as-a-judge models with rule-based rewards on verl.

Importing this package is cheap; the verl reward manager and the Hydra recipes are
registered by `thinkj_verl.plugin`, which verl loads through its ``verl.plugins`` entry point.
"""

__version__ = "0.1.0"
