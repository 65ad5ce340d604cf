"""Models written the way real projects write them (issue 13): each module one class of mapping,
working in every backend or refused when the shape is defined."""
