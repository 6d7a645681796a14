x: ''abc ${x}
