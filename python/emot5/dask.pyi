# Type hints for emot5.dask (python/emot5/dask.py).
from os import PathLike
from typing import Any, Optional, Union

def classify(ddf: Any, column: str = ..., model: Optional[Union[str, PathLike[str]]] = ..., precision: str = ...,
             threads: int = ..., batch_size: int = ...) -> Any: ...
def trends(ddf: Any, time_column: str = ..., period: str = ..., column: str = ...,
           model: Optional[Union[str, PathLike[str]]] = ..., precision: str = ..., threads: int = ...,
           batch_size: int = ..., skip_empty_periods: bool = ...) -> Any: ...
def loads_in_this_process() -> int: ...
